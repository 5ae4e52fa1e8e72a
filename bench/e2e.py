"""End to end: upload a one-page PDF, then follow it through the API until `succeeded` is visible,
500 times in a row; against the bare extraction of that file plus a bare Celery round trip."""

import json
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
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


@dataclass
class Run:
    """One upload followed to `succeeded`: client clock readings and the job's own timestamps."""

    total_s: float
    answer_s: float  # until the 202
    queued_s: float  # created -> started (publish, the worker's fetch, the claim)
    running_s: float  # started -> finished (the pipeline and its job writes)
    noticed_s: float  # finished -> the client read `succeeded` (polling, or the SSE event)


TERMINAL = frozenset({"succeeded", "failed", "dead_lettered", "cancelled"})


def _epoch(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _poll(client: httpx.Client, task_id: str, poll_s: float) -> dict[str, Any]:
    """GET /v1/tasks/{id} every `poll_s` until the task ends."""
    while True:
        status: dict[str, Any] = client.get(f"/v1/tasks/{task_id}").json()
        if status["state"] in TERMINAL:
            return status
        time.sleep(poll_s)


def _follow(client: httpx.Client, task_id: str) -> dict[str, Any]:
    """Read GET /v1/tasks/{id}/events until the terminal event (what the client's wait() does)."""
    with client.stream("GET", f"/v1/tasks/{task_id}/events") as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                status: dict[str, Any] = json.loads(line[5:])
                if status["state"] in TERMINAL:
                    return status
    raise RuntimeError("the event stream closed before the task ended")


def docqueue_runs(
    bench: BenchStack, data: bytes, engine: str, runs: int, poll_s: float, follow: str = "poll"
) -> list[Run]:
    """From sending the upload to reading `succeeded` through the API, `runs` times: by polling
    GET /v1/tasks/{id} every `poll_s` (`follow="poll"`) or from its event stream (`"events"`)."""
    headers = {"Authorization": f"Bearer {bench.api_key}"}
    done = []
    with httpx.Client(base_url=bench.api_url, headers=headers, timeout=30) as client:
        for _ in range(runs):
            files = {"file": ("one.pdf", unique_copy(data), "application/pdf")}
            began, began_at = time.perf_counter(), time.time()
            accepted = client.post("/v1/documents", files=files, data={"engine": engine})
            answered = time.perf_counter()
            task_id = accepted.json()["task_id"]
            status = _follow(client, task_id) if follow == "events" else _poll(client, task_id, poll_s)
            seen = time.perf_counter()
            if status["state"] != "succeeded":
                raise RuntimeError(f"end-to-end task ended {status['state']}")
            created, started, finished = (
                _epoch(status[name]) for name in ("created_at", "started_at", "finished_at")
            )
            done.append(
                Run(
                    total_s=seen - began,
                    answer_s=answered - began,
                    queued_s=started - created,
                    running_s=finished - started,
                    noticed_s=began_at + (seen - began) - finished,
                )
            )
    return done


def breakdown_ms(runs: list[Run]) -> dict[str, float]:
    """Medians of the parts (they need not add up to the median total)."""
    return {
        f"{name}_p50_ms": round(statistics.median(getattr(run, f"{name}_s") for run in runs) * 1000, 3)
        for name in ("answer", "queued", "running", "noticed")
    }


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
            measured = docqueue_runs(bench, path.read_bytes(), engine, runs, poll_s)
            docqueue = summary_ms([run.total_s for run in measured])
            followed = docqueue_runs(bench, path.read_bytes(), engine, runs, poll_s, follow="events")
            events = summary_ms([run.total_s for run in followed])
            baseline_ms = extraction["p50_ms"] + celery["p50_ms"]
            rows.append(
                {
                    "engine": engine,
                    "poll_interval_ms": poll_s * 1000,
                    "bare_extraction": extraction,
                    "bare_celery_round_trip": celery,
                    "baseline_p50_ms": round(baseline_ms, 3),
                    "docqueue": docqueue,
                    "breakdown": breakdown_ms(measured),
                    "p50_ratio": round(docqueue["p50_ms"] / baseline_ms, 3),
                    "docqueue_events": events,
                    "breakdown_events": breakdown_ms(followed),
                    "p50_ratio_events": round(events["p50_ms"] / baseline_ms, 3),
                }
            )
            print(
                f"  e2e {engine}: docqueue p50 {docqueue['p50_ms']} ms p99 {docqueue['p99_ms']} ms "
                f"(SSE: p50 {events['p50_ms']} ms); "
                f"extraction {extraction['p50_ms']} + celery {celery['p50_ms']} ms",
                flush=True,
            )
            bench.flush()
    finally:
        bench.stop_process(worker)
    return rows
