"""End to end: upload a one-page PDF, then follow it through the API until `succeeded` is visible,
500 times in a row; against the bare extraction of that file plus a bare Celery round trip."""

import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.bare import one_extraction_s
from bench.celery_noop import TASK, app, reply_key
from bench.stack import BenchStack
from bench.worker import unique_copy


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def docqueue_runs(bench: BenchStack, data: bytes, engine: str, runs: int, poll_s: float) -> list[float]:
    """Seconds from sending the upload to reading `succeeded` from GET /v1/tasks/{id}."""
    headers = {"Authorization": f"Bearer {bench.api_key}"}
    times = []
    with httpx.Client(base_url=bench.api_url, headers=headers, timeout=30) as client:
        for _ in range(runs):
            files = {"file": ("one.pdf", unique_copy(data), "application/pdf")}
            began = time.perf_counter()
            accepted = client.post("/v1/documents", files=files, data={"engine": engine})
            task_id = accepted.json()["task_id"]
            while True:
                state = client.get(f"/v1/tasks/{task_id}").json()["state"]
                if state == "succeeded":
                    break
                if state in ("failed", "dead_lettered", "cancelled"):
                    raise RuntimeError(f"end-to-end task ended {state}")
                time.sleep(poll_s)
            times.append(time.perf_counter() - began)
    return times


def celery_round_trips(bench: BenchStack, runs: int) -> list[float]:
    """Seconds from send_task to the no-op task's answer, with docqueue's Celery configuration."""
    app.conf["broker_url"] = bench.redis_server.url
    client = bench.redis
    times = []
    try:
        for index in range(runs + 20):
            token = uuid.uuid4().hex
            began = time.perf_counter()
            app.send_task(TASK, args=[token], retry=False)
            if client.blpop([reply_key(token)], timeout=30) is None:
                raise RuntimeError("the no-op task never answered")
            if index >= 20:  # the first ones warm the connections up
                times.append(time.perf_counter() - began)
    finally:
        client.close()
    return times


def summary_ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 50) * 1000, 3),
        "p99_ms": round(percentile(values, 99) * 1000, 3),
        "mean_ms": round(statistics.fmean(values) * 1000, 3),
        "runs": len(values),
    }


def run(
    bench: BenchStack, path: Path, engines: tuple[str, ...], runs: int, poll_s: float
) -> list[dict[str, Any]]:
    noop = bench.start_noop_worker()
    try:
        celery = summary_ms(celery_round_trips(bench, max(100, runs // 2)))
    finally:
        noop.stop(timeout_s=5)
    worker = bench.start_worker(concurrency=1, name="worker-e2e")
    rows = []
    try:
        for engine in engines:
            extraction = summary_ms(one_extraction_s(engine, path, 200))
            docqueue_runs(bench, path.read_bytes(), engine, 20, poll_s)  # warm-up
            docqueue = summary_ms(docqueue_runs(bench, path.read_bytes(), engine, runs, poll_s))
            baseline_ms = extraction["p50_ms"] + celery["p50_ms"]
            rows.append(
                {
                    "engine": engine,
                    "poll_interval_ms": poll_s * 1000,
                    "bare_extraction": extraction,
                    "bare_celery_round_trip": celery,
                    "baseline_p50_ms": round(baseline_ms, 3),
                    "docqueue": docqueue,
                    "p50_ratio": round(docqueue["p50_ms"] / baseline_ms, 3),
                }
            )
            print(
                f"  e2e {engine}: docqueue p50 {docqueue['p50_ms']} ms p99 {docqueue['p99_ms']} ms; "
                f"extraction {extraction['p50_ms']} + celery {celery['p50_ms']} ms",
                flush=True,
            )
            bench.flush()
    finally:
        bench.stop_process(worker)
    return rows
