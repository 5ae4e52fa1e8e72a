"""A folder in one request: `documents` one-page PDFs (each a unique copy, so dedupe merges none) as one
batch (one POST /v1/batches, then the batch's event stream until it ends) against the same files
as single uploads (one POST /v1/documents each, then each task's event stream until it ends), with
the same workers. Seconds to every upload accepted and to every document finished, and requests
made; each way run `rounds` times, alternating, medians reported."""

import json
import statistics
import time
from typing import Any

import httpx

from bench.e2e import TERMINAL
from bench.stack import BenchStack
from bench.worker import unique_copy


def _wait_stream(client: httpx.Client, path: str, done: set[str]) -> None:
    with client.stream("GET", path, headers={"Last-Event-ID": "0-0"}) as response:
        for line in response.iter_lines():
            if line.startswith("data:") and json.loads(line[5:])["state"] in done:
                return
    raise RuntimeError(f"{path} closed before the end")


def as_batch(client: httpx.Client, documents: list[bytes]) -> dict[str, float]:
    began = time.perf_counter()
    files = [("files", (f"doc-{i}.pdf", data, "application/pdf")) for i, data in enumerate(documents)]
    answer = client.post("/v1/batches", files=files)
    answer.raise_for_status()
    accepted = time.perf_counter()
    batch_id = answer.json()["batch_id"]
    _wait_stream(client, f"/v1/batches/{batch_id}/events", {"succeeded", "completed_with_errors"})
    finished = time.perf_counter()
    final = client.get(f"/v1/batches/{batch_id}", params={"limit": 1}).json()
    if final["counts"]["succeeded"] != len(documents):
        raise RuntimeError(f"the batch ended {final['state']}: {final['counts']}")
    return {"accepted_s": accepted - began, "finished_s": finished - began, "requests": 2}


def as_singles(client: httpx.Client, documents: list[bytes]) -> dict[str, float]:
    began = time.perf_counter()
    ids = []
    for i, data in enumerate(documents):
        answer = client.post("/v1/documents", files={"file": (f"doc-{i}.pdf", data, "application/pdf")})
        answer.raise_for_status()
        ids.append(answer.json()["task_id"])
    accepted = time.perf_counter()
    for task_id in ids:
        _wait_stream(client, f"/v1/tasks/{task_id}/events", TERMINAL)
    finished = time.perf_counter()
    return {"accepted_s": accepted - began, "finished_s": finished - began, "requests": 2 * len(ids)}


def run(bench: BenchStack, data: bytes, documents: int, rounds: int, processes: int = 2) -> dict[str, Any]:
    worker = bench.start_worker(concurrency=processes, name="worker-batch")
    headers = {"Authorization": f"Bearer {bench.api_key}"}
    runs: dict[str, list[dict[str, float]]] = {"batch": [], "singles": []}
    try:
        with httpx.Client(base_url=bench.api_url, headers=headers, timeout=600) as client:
            as_batch(client, [unique_copy(data) for _ in range(10)])  # warm-up
            for _ in range(rounds):
                for name, way in (("batch", as_batch), ("singles", as_singles)):
                    runs[name].append(way(client, [unique_copy(data) for _ in range(documents)]))
    finally:
        bench.stop_process(worker)
        bench.flush()

    def median(name: str, key: str) -> float:
        return round(statistics.median(run[key] for run in runs[name]), 3)

    result: dict[str, Any] = {
        "documents": documents,
        "rounds": rounds,
        "processes": processes,
        **{
            name: {
                "accepted_s": median(name, "accepted_s"),
                "finished_s": median(name, "finished_s"),
                "requests": runs[name][0]["requests"],
                "runs": runs[name],
            }
            for name in runs
        },
    }
    result["accepted_ratio"] = round(result["batch"]["accepted_s"] / result["singles"]["accepted_s"], 3)
    result["finished_ratio"] = round(result["batch"]["finished_s"] / result["singles"]["finished_s"], 3)
    ways = "; ".join(
        f"{name}: accepted {result[name]['accepted_s']} s, finished {result[name]['finished_s']} s, "
        f"{result[name]['requests']} requests"
        for name in runs
    )
    print(f"  {documents} documents, {ways}", flush=True)
    return result
