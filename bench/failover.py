"""Losing the Redis master, measured (issue 16), on loopback with real sentinels:

- recovery: documents queued and running, uploads arriving every 50 ms; the master is SIGKILLed;
  seconds from the kill to the first upload accepted again and to the last affected job finished,
  with Redis's default `down-after-milliseconds` (30 s) and a tuned 5 s;
- replica acknowledgement: uploads/s of one client, one after another, against a standalone Redis,
  the sentinel setup without `DOCQUEUE_REDIS_REPLICA_ACKS` and with it set to 1;
- Redis cost per document: `INFO commandstats`, network bytes and Redis CPU seconds around
  `documents` one-page documents run end to end (API, two worker processes, beat), and from them
  the documents/s one Redis core carries.

Every process is started and stopped by PID; every case is bounded in count and time."""

import contextlib
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import redis

from bench.stack import BENCH_ENV
from bench.worker import unique_copy
from docqueue import names
from docqueue.auth import Scope, generate_api_key, store_api_key
from docqueue.jobs import keys
from docqueue.redis_url import redis_client
from docqueue.text import as_text
from docqueue_devstack.redis_server import RedisServer
from docqueue_devstack.sentinel import SentinelCluster
from docqueue_devstack.stack import Stack

TERMINAL = {"succeeded", "failed", "cancelled", "dead_lettered"}
# Redis's own default (sentinel.conf), and a common tuned value.
DOWN_AFTER_MS = (30_000, 5_000)


@contextmanager
def stack_on(url: str, root: Path, env: dict[str, str] | None = None) -> Iterator[tuple[Stack, str, str]]:
    """A stack on `url`: (stack, API URL, API key); workers are started by the case."""
    stack = Stack(redis_url=url, run_dir=root, env={**BENCH_ENV, **(env or {})})
    key = generate_api_key()
    store_api_key(redis_client(url), key, "bench", set(Scope), name="bench")
    try:
        _, api_url = stack.start_api()
        yield stack, api_url, key
    finally:
        stack.stop()


def _post(client: httpx.Client, data: bytes) -> httpx.Response:
    return client.post("/v1/documents", files={"file": ("f.pdf", unique_copy(data), "application/pdf")})


def recovery(data: bytes, down_after_ms: int, documents: int, root: Path) -> dict[str, Any]:
    with SentinelCluster(root / "sentinel", down_after_ms=down_after_ms).start() as cluster:
        url = cluster.url
        with stack_on(url, root / "stack") as (stack, api_url, key):
            stack.start_worker(concurrency=2, env={"DOCQUEUE_QUEUES": "documents,documents.bulk"})
            stack.start_beat()
            store = redis_client(url, socket_timeout=5)
            headers = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=api_url, headers=headers, timeout=60) as client:
                ids = [_post(client, data).json()["task_id"] for _ in range(documents)]
                old = cluster.master.port
                killed_at, killed_wall = time.monotonic(), time.time()
                cluster.master.kill()
                first_accepted = failed_over = None
                refused = 0
                deadline = killed_at + down_after_ms / 1000 + 120
                while first_accepted is None and time.monotonic() < deadline:
                    if failed_over is None and cluster.master_port() not in (None, old):
                        failed_over = time.monotonic() - killed_at
                    answer = _post(client, data)
                    if answer.status_code == 202:
                        first_accepted = time.monotonic() - killed_at
                        ids.append(answer.json()["task_id"])
                    else:
                        refused += 1
                        time.sleep(0.05)
                if failed_over is None and cluster.master_port() not in (None, old):
                    failed_over = time.monotonic() - killed_at  # named between the check and the upload
            finals = _wait_terminal(store, ids, timeout_s=300)
    finished = [float(job["finished_at"]) for job in finals.values() if job.get("finished_at")]
    return {
        "down_after_ms": down_after_ms,
        "documents_in_flight": documents,
        "sentinels_named_new_master_s": round(failed_over, 2) if failed_over is not None else None,
        "first_upload_accepted_s": round(first_accepted, 2) if first_accepted is not None else None,
        "last_affected_job_finished_s": round(max(finished) - killed_wall, 2) if finished else None,
        "uploads_refused_meanwhile": refused,
        "states": _count(job.get("state", "missing") for job in finals.values()),
    }


def _wait_terminal(store: redis.Redis, ids: list[str], timeout_s: float) -> dict[str, dict[str, str]]:
    deadline = time.monotonic() + timeout_s
    finals: dict[str, dict[str, str]] = {}
    while time.monotonic() < deadline and len(finals) < len(ids):
        for task_id in ids:
            if task_id in finals:
                continue
            try:
                raw: dict[bytes, bytes] = store.hgetall(keys.job(task_id))  # type: ignore[assignment]
            except redis.RedisError:
                break
            job = {k.decode(): v.decode() for k, v in raw.items()}
            if job.get("state") in TERMINAL:
                finals[task_id] = job
        time.sleep(0.5)
    for task_id in ids:
        finals.setdefault(task_id, {"state": "not finished"})
    return finals


def _count(states: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for state in states:
        counts[state] = counts.get(state, 0) + 1
    return counts


def _upload_rate(api_url: str, key: str, data: bytes, uploads: int) -> float:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=api_url, headers=headers, timeout=60) as client:
        _post(client, data)  # a connection and a warm API
        began = time.perf_counter()
        for _ in range(uploads):
            answer = _post(client, data)
            if answer.status_code != 202:
                raise RuntimeError(f"upload refused: {answer.status_code} {answer.text}")
        return uploads / (time.perf_counter() - began)


def replica_acks(data: bytes, uploads: int, rounds: int, root: Path) -> dict[str, Any]:
    """Three APIs at once (standalone Redis; Sentinel; Sentinel with replica acks 1), measured
    in alternating rounds so drift of the machine touches all three alike; medians."""
    server = RedisServer(root / "standalone", appendonly=True).start()
    cluster = SentinelCluster(root / "sentinel").start()
    cases = {
        "standalone": (server.url, {}),
        "sentinel": (cluster.url, {}),
        "sentinel, replica acks 1": (cluster.url, {"DOCQUEUE_REDIS_REPLICA_ACKS": "1"}),
    }
    rates: dict[str, list[float]] = {name: [] for name in cases}
    try:
        with contextlib.ExitStack() as stacks:
            apis = {
                name: stacks.enter_context(stack_on(url, root / name.replace(" ", "-").replace(",", ""), env))
                for name, (url, env) in cases.items()
            }
            for _ in range(rounds):
                for name, (_, api_url, key) in apis.items():
                    rates[name].append(_upload_rate(api_url, key, data, uploads))
    finally:
        cluster.stop()
        server.stop()
    medians = {name: statistics.median(values) for name, values in rates.items()}
    acked = medians["sentinel, replica acks 1"]
    return {
        "uploads_per_round": uploads,
        "rounds": rounds,
        "uploads_per_s_median": {name: round(rate, 1) for name, rate in medians.items()},
        "uploads_per_s_rounds": {name: [round(rate, 1) for rate in values] for name, values in rates.items()},
        "ratio_sentinel_acked_vs_standalone": round(acked / medians["standalone"], 3),
        "ratio_sentinel_acked_vs_sentinel": round(acked / medians["sentinel"], 3),
    }


def _info(client: redis.Redis) -> dict[str, Any]:
    return {
        "commands": client.info("commandstats"),
        "stats": client.info("stats"),
        "cpu": client.info("cpu"),
    }


def redis_cost(data: bytes, documents: int, root: Path) -> dict[str, Any]:
    server = RedisServer(root / "redis", appendonly=True).start()
    with server, stack_on(server.url, root / "stack") as (stack, api_url, key):
        stack.start_worker(concurrency=2, env={"DOCQUEUE_QUEUES": "documents,documents.bulk"})
        stack.start_beat()
        client = redis.Redis.from_url(server.url)
        headers = {"Authorization": f"Bearer {key}"}
        before = _info(client)
        began = time.perf_counter()
        with httpx.Client(base_url=api_url, headers=headers, timeout=60) as api:
            ids = [_post(api, data).json()["task_id"] for _ in range(documents)]
        # Two commands a second to see the end, and nothing else of ours.
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if client.zcard(keys.ACTIVE_JOBS) == 0 and client.llen(names.DOCUMENTS_QUEUE) == 0:
                break
            time.sleep(1)
        elapsed = time.perf_counter() - began
        after = _info(client)
        states = _count(as_text(client.hget(keys.job(task_id), "state") or b"missing") for task_id in ids)
    calls = {
        name.removeprefix("cmdstat_"): after["commands"][name]["calls"]
        - before["commands"].get(name, {"calls": 0})["calls"]
        for name in after["commands"]
    }
    calls = {name: count for name, count in sorted(calls.items(), key=lambda item: -item[1]) if count}
    total = sum(calls.values())
    cpu_s = sum(after["cpu"][k] - before["cpu"][k] for k in ("used_cpu_sys", "used_cpu_user"))
    bytes_in = after["stats"]["total_net_input_bytes"] - before["stats"]["total_net_input_bytes"]
    bytes_out = after["stats"]["total_net_output_bytes"] - before["stats"]["total_net_output_bytes"]
    cpu_ms_per_document = 1000 * cpu_s / documents
    return {
        "documents": documents,
        "states": states,
        "seconds": round(elapsed, 1),
        "documents_per_s_two_worker_processes": round(documents / elapsed, 1),
        "commands_per_document": round(total / documents, 1),
        "top_commands_per_document": {name: round(n / documents, 2) for name, n in list(calls.items())[:12]},
        "bytes_in_per_document": round(bytes_in / documents),
        "bytes_out_per_document": round(bytes_out / documents),
        "redis_cpu_ms_per_document": round(cpu_ms_per_document, 3),
        # One Redis is single-threaded: one core's worth of CPU is its ceiling.
        "documents_per_s_one_redis_core": round(1000 / cpu_ms_per_document) if cpu_ms_per_document else None,
    }


def run(data: bytes, quick: bool) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="docqueue-bench-failover-"))
    results: dict[str, Any] = {}
    print("  redis cost per document", flush=True)
    results["redis_cost"] = redis_cost(data, 200 if quick else 1000, root / "cost")
    print("  replica acknowledgement", flush=True)
    results["replica_acks"] = replica_acks(data, 30 if quick else 150, 2 if quick else 5, root / "acks")
    results["recovery"] = []
    for down_after_ms in (DOWN_AFTER_MS[1],) if quick else DOWN_AFTER_MS:
        print(f"  recovery, down-after {down_after_ms} ms", flush=True)
        case_root = root / f"recovery-{down_after_ms}"
        results["recovery"].append(recovery(data, down_after_ms, 20 if quick else 100, case_root))
    return results
