"""Worker throughput: pages/s of docqueue's full pipeline (claim, extract, progress, chunk, store,
finish) in a real `celery worker` with 1 and 2 pool processes, against the bare loop."""

import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.bare import bare_throughput
from bench.stack import BenchStack
from docqueue.jobs import keys

PROCESSES = (1, 2)


def unique_copy(data: bytes) -> bytes:
    """The same PDF with a comment after %%EOF: another sha256, so dedupe never merges uploads."""
    return data + f"\n%{uuid.uuid4().hex}\n".encode()


def submit(bench: BenchStack, data: bytes, engine: str, count: int) -> list[str]:
    headers = {"Authorization": f"Bearer {bench.api_key}"}
    ids = []
    with httpx.Client(base_url=bench.api_url, headers=headers, timeout=60) as client:
        for _ in range(count):
            files = {"file": ("bench.pdf", unique_copy(data), "application/pdf")}
            response = client.post("/v1/documents", files=files, data={"engine": engine})
            response.raise_for_status()
            ids.append(response.json()["task_id"])
    return ids


def wait_done(bench: BenchStack, task_ids: list[str], timeout_s: float) -> list[dict[str, str]]:
    client = bench.redis
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            pipe = client.pipeline(transaction=False)
            for task_id in task_ids:
                pipe.hmget(keys.job(task_id), "state", "started_at", "finished_at", "pages_total")
            rows = [[None if v is None else v.decode() for v in row] for row in pipe.execute()]
            if all(row[0] in ("succeeded", "failed", "dead_lettered") for row in rows):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"jobs not done after {timeout_s}s: {rows[:3]}")
            time.sleep(0.2)
    finally:
        client.close()
    failed = [row for row in rows if row[0] != "succeeded"]
    if failed:
        raise RuntimeError(f"{len(failed)} jobs did not succeed: {failed[:3]}")
    return [{"started_at": str(r[1]), "finished_at": str(r[2]), "pages": str(r[3])} for r in rows]


def pipeline_throughput(
    bench: BenchStack, path: Path, engine: str, processes: int, documents: int
) -> dict[str, float]:
    """Upload `documents` copies with no worker running, then start one and time the job records:
    from the first claim to the last finish, so worker start-up is not counted."""
    task_ids = submit(bench, path.read_bytes(), engine, documents)
    rows, started, finished = drain(bench, task_ids, processes, f"worker-{engine}-{processes}")
    pages = sum(int(row["pages"]) for row in rows)
    return {
        "pages": pages,
        "seconds": round(finished - started, 3),
        "pages_per_s": round(pages / (finished - started), 1),
    }


def drain(
    bench: BenchStack, task_ids: list[str], processes: int, name: str
) -> tuple[list[dict[str, str]], float, float]:
    """Start a worker on the queued `task_ids`, wait for all, stop it: the job rows and the window
    from the first claim to the last finish (so worker start-up is not counted)."""
    worker = bench.start_worker(concurrency=processes, name=name)
    try:
        rows = wait_done(bench, task_ids, timeout_s=900)
    finally:
        bench.stop_process(worker)
    started = min(float(row["started_at"]) for row in rows)
    finished = max(float(row["finished_at"]) for row in rows)
    return rows, started, finished


def run(
    bench: BenchStack, files: dict[str, Path], documents: dict[tuple[str, str], int]
) -> list[dict[str, Any]]:
    """`documents[(file label, engine)]`: documents per process for that case."""
    rows: list[dict[str, Any]] = []
    for (label, engine), per_process in documents.items():
        path = files[label]
        for processes in PROCESSES:
            count = per_process * processes
            bare = bare_throughput(engine, path, processes, count)
            pipeline = pipeline_throughput(bench, path, engine, processes, count)
            bench.flush()
            bench.clear_blobs()
            rows.append(
                {
                    "file": label,
                    "engine": engine,
                    "processes": processes,
                    "documents": count,
                    "bare": bare,
                    "docqueue": pipeline,
                    "ratio": round(pipeline["pages_per_s"] / bare["pages_per_s"], 3),
                }
            )
            print(
                f"  worker {label}/{engine} x{processes}: docqueue {pipeline['pages_per_s']} pages/s, "
                f"bare {bare['pages_per_s']} pages/s",
                flush=True,
            )
    for row in rows:
        one = next(
            r for r in rows if (r["file"], r["engine"], r["processes"]) == (row["file"], row["engine"], 1)
        )
        row["scaling"] = round(row["docqueue"]["pages_per_s"] / one["docqueue"]["pages_per_s"], 3)
        row["bare_scaling"] = round(row["bare"]["pages_per_s"] / one["bare"]["pages_per_s"], 3)
    return rows
