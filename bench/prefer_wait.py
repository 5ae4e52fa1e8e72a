"""Quick work in one call: a one-page PDF uploaded with `Prefer: wait=30` (one request, answered
200 with the finished task) against upload-then-poll (GET every `poll_s`) and upload-then-SSE
(the event stream until the terminal event), each `runs` times in a row with one worker process:
end-to-end seconds from sending the upload to holding `succeeded`, and requests per document."""

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.e2e import TERMINAL, percentile
from bench.stack import BenchStack
from bench.worker import unique_copy

Follow = Callable[[httpx.Client, bytes], tuple[dict[str, Any], int]]


def _upload(client: httpx.Client, data: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    files = {"file": ("one.pdf", unique_copy(data), "application/pdf")}
    return client.post("/v1/documents", files=files, headers=headers or {})


def with_prefer_wait(client: httpx.Client, data: bytes) -> tuple[dict[str, Any], int]:
    answer = _upload(client, data, {"Prefer": "wait=30"})
    if answer.status_code != 200:
        raise RuntimeError(f"Prefer: wait was not answered with the finished task: {answer.status_code}")
    return answer.json(), 1


def poller(poll_s: float) -> Follow:
    def poll(client: httpx.Client, data: bytes) -> tuple[dict[str, Any], int]:
        task_id = _upload(client, data).json()["task_id"]
        requests = 1
        while True:
            status: dict[str, Any] = client.get(f"/v1/tasks/{task_id}").json()
            requests += 1
            if status["state"] in TERMINAL:
                return status, requests
            time.sleep(poll_s)

    return poll


def with_events(client: httpx.Client, data: bytes) -> tuple[dict[str, Any], int]:
    task_id = _upload(client, data).json()["task_id"]
    with client.stream("GET", f"/v1/tasks/{task_id}/events") as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                status: dict[str, Any] = json.loads(line[5:])
                if status["state"] in TERMINAL:
                    return status, 2
    raise RuntimeError("the event stream closed before the task ended")


def measure(bench: BenchStack, data: bytes, follow: Follow, runs: int) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {bench.api_key}"}
    seconds, requests = [], []
    with httpx.Client(base_url=bench.api_url, headers=headers, timeout=60) as client:
        for _ in range(runs):
            began = time.perf_counter()
            status, made = follow(client, data)
            seconds.append(time.perf_counter() - began)
            requests.append(made)
            if status["state"] != "succeeded":
                raise RuntimeError(f"a benchmark task ended {status['state']}")
    return {
        "p50_ms": round(percentile(seconds, 50) * 1000, 3),
        "p99_ms": round(percentile(seconds, 99) * 1000, 3),
        "mean_ms": round(statistics.fmean(seconds) * 1000, 3),
        "requests_per_document": round(statistics.fmean(requests), 2),
        "runs": runs,
    }


def run(bench: BenchStack, path: Path, runs: int, poll_s: float = 0.001) -> dict[str, Any]:
    data = path.read_bytes()
    worker = bench.start_worker(concurrency=1, name="worker-prefer-wait")
    try:
        for follow in (with_prefer_wait, poller(poll_s), with_events):  # warm-up
            measure(bench, data, follow, 10)
        prefer = measure(bench, data, with_prefer_wait, runs)
        poll = measure(bench, data, poller(poll_s), runs)
        events = measure(bench, data, with_events, runs)
    finally:
        bench.stop_process(worker)
        bench.flush()
    result = {
        "file": path.name,
        "poll_interval_ms": poll_s * 1000,
        "prefer_wait": prefer,
        "upload_then_poll": poll,
        "upload_then_sse": events,
        # Goal: within 1.3x of the end-to-end time the stack already measures (poll, and SSE).
        "p50_ratio_vs_poll": round(prefer["p50_ms"] / poll["p50_ms"], 3),
        "p50_ratio_vs_sse": round(prefer["p50_ms"] / events["p50_ms"], 3),
    }
    print(
        f"  prefer wait p50 {prefer['p50_ms']} ms ({prefer['requests_per_document']} requests); "
        f"poll {poll['p50_ms']} ms ({poll['requests_per_document']}); "
        f"SSE {events['p50_ms']} ms ({events['requests_per_document']})",
        flush=True,
    )
    return result
