"""Backlog: 10 000 queued jobs (no worker running). Redis memory per queued job, blobs excluded
(they are files), and the p99 of status reads with that backlog against an empty system."""

import random
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.stack import BenchStack
from bench.wrk import run_wrk
from docqueue import names
from docqueue.jobs import keys


def used_memory(bench: BenchStack) -> int:
    client = bench.redis
    try:
        return int(client.info("memory")["used_memory"])
    finally:
        client.close()


def queue_jobs(bench: BenchStack, file: Path, count: int) -> None:
    """`count` uploads through the API (wrk, 8 connections), each a distinct document."""
    env = {
        "BENCH_FILE": str(file),
        "BENCH_PATH": "/v1/documents",
        "BENCH_AUTH": bench.api_key,
        "BENCH_RUN": uuid.uuid4().hex,
        "BENCH_MAX_REQUESTS": str(count),
    }
    client = bench.redis
    before = client.llen(names.DOCUMENTS_QUEUE)
    try:
        result = run_wrk(
            bench.api_url,
            "upload.lua",
            env,
            8,
            duration_s=600,
            stop_when=lambda: client.llen(names.DOCUMENTS_QUEUE) - before >= count,
        )
    finally:
        client.close()
    if result.ok_count(202) < count:
        raise RuntimeError(f"only {result.ok_count(202)} of {count} uploads were accepted: {result}")


def status_reads(
    bench: BenchStack, task_ids: list[str], duration_s: float, sample: int = 2000
) -> dict[str, Any]:
    paths = bench.root / "status-paths.txt"
    chosen = random.Random(5).sample(task_ids, min(sample, len(task_ids)))
    paths.write_text("".join(f"/v1/tasks/{task_id}\n" for task_id in chosen))
    env = {"BENCH_PATHS_FILE": str(paths), "BENCH_AUTH": bench.api_key}
    run_wrk(bench.api_url, "get.lua", env, 4, 1)  # warm-up
    return run_wrk(bench.api_url, "get.lua", env, 4, duration_s).as_dict()


def task_ids(bench: BenchStack) -> list[str]:
    client = bench.redis
    try:
        members = client.zrange(keys.tenant_jobs("bench"), 0, -1)
    finally:
        client.close()
    return [member.decode() if isinstance(member, bytes) else str(member) for member in members]


def key_breakdown(bench: BenchStack, task_id: str, jobs: int) -> dict[str, float]:
    """Bytes one queued job holds, key by key (MEMORY USAGE; shared structures divided by jobs)."""
    client = bench.redis
    try:
        job = client.hgetall(keys.job(task_id))
        from docqueue.jobs.commands import fingerprint
        from docqueue.jobs.model import Job

        record = Job.from_redis(job)
        per_job = {
            "job hash": client.memory_usage(keys.job(task_id)) or 0,
            "events stream": client.memory_usage(keys.job_events(task_id)) or 0,
            "history list": client.memory_usage(keys.job_history(task_id)) or 0,
            "dedupe key": client.memory_usage(
                keys.dedupe("bench", fingerprint(record.sha256, record.options))
            )
            or 0,
        }
        shared = {
            "indexes (active, expiry, tenant)": sum(
                client.memory_usage(key, samples=0) or 0
                for key in (keys.ACTIVE_JOBS, keys.JOB_EXPIRY, keys.tenant_jobs("bench"))
            ),
            "Celery messages (documents list)": client.memory_usage(names.DOCUMENTS_QUEUE, samples=0) or 0,
        }
    finally:
        client.close()
    return {**per_job, **{name: round(size / jobs, 1) for name, size in shared.items()}}


def _with_small_stream_nodes(bench: BenchStack, file: Path, jobs: int) -> float:
    bench.flush()
    client = bench.redis
    try:
        client.config_set("stream-node-max-bytes", 1024)
        before = used_memory(bench)
        queue_jobs(bench, file, jobs)
        queued = len(task_ids(bench))
        return round((used_memory(bench) - before) / queued, 1)
    finally:
        client.config_set("stream-node-max-bytes", 4096)
        client.close()


def run(bench: BenchStack, file: Path, jobs: int, duration_s: float) -> dict[str, Any]:
    bench.flush()
    headers = {"Authorization": f"Bearer {bench.api_key}"}
    with httpx.Client(base_url=bench.api_url, headers=headers, timeout=30) as client:
        response = client.post("/v1/documents", files={"file": ("one.pdf", file.read_bytes())})
        response.raise_for_status()
    empty = status_reads(bench, task_ids(bench), duration_s)
    before = used_memory(bench)
    queue_jobs(bench, file, jobs)
    ids = task_ids(bench)
    after = used_memory(bench)
    queued = len(ids) - 1
    backlog = status_reads(bench, ids, duration_s)
    breakdown = key_breakdown(bench, ids[-1], queued)
    small_nodes = _with_small_stream_nodes(bench, file, max(500, jobs // 10))
    row = {
        "jobs": queued,
        "used_memory_before": before,
        "used_memory_after": after,
        "bytes_per_job": round((after - before) / queued, 1),
        "breakdown_bytes": breakdown,
        # The same measure with Redis's `stream-node-max-bytes` at 1024 (default 4096): a job's
        # event stream preallocates one node of that size for its first entry.
        "bytes_per_job_stream_node_1024": small_nodes,
        "status_empty": empty,
        "status_backlog": backlog,
        "p99_ratio": round(float(backlog["p99_ms"]) / float(empty["p99_ms"]), 3),
    }
    print(
        f"  backlog: {row['bytes_per_job']} bytes/job ({small_nodes} with 1 KB stream nodes); "
        f"status p99 {empty['p99_ms']} ms empty, "
        f"{backlog['p99_ms']} ms with {queued} queued",
        flush=True,
    )
    bench.flush()
    bench.clear_blobs()
    return row
