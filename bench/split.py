"""Splitting (issue 15): one large document on the devstack's two worker processes, read whole
(`DOCQUEUE_SPLIT_MIN_PAGES=0`) against split into parts of several sizes; the same for a scan read
by OCR; the cost of one part (open, claim, store) from one process running the same document both
ways; and the latency of a one-page upload made while a 2,000-page document runs, against its
latency on an idle stack.

Every time is the job record's own (`created_at` to `finished_at`, what a client waits), one run
after another on a fresh worker; every process is started and stopped by PID, and each case has a
fixed size."""

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from bench.ocr import scan_file
from bench.pdfs import cached, dense_pdf, plain_pdf
from bench.stack import BenchStack
from bench.worker import unique_copy
from docqueue.jobs import keys
from docqueue.text import as_text

QUEUES = {"DOCQUEUE_QUEUES": "documents,documents.bulk"}


def _submit(bench: BenchStack, data: bytes, **fields: str) -> str:
    headers = {"Authorization": f"Bearer {bench.api_key}"}
    with httpx.Client(base_url=bench.api_url, headers=headers, timeout=120) as client:
        files = {"file": ("bench.pdf", unique_copy(data), "application/pdf")}
        response = client.post("/v1/documents", files=files, data=fields)
        response.raise_for_status()
        task_id: str = response.json()["task_id"]
        return task_id


def _wait(bench: BenchStack, task_id: str, timeout_s: float) -> dict[str, float]:
    client = bench.redis
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            state, created, finished, parts = (
                None if v is None else as_text(v)
                for v in client.hmget(keys.job(task_id), "state", "created_at", "finished_at", "parts_total")
            )
            if state in ("succeeded", "failed", "dead_lettered", "cancelled"):
                if state != "succeeded":
                    raise RuntimeError(f"{task_id} ended {state}")
                return {"seconds": float(finished or 0) - float(created or 0), "parts": float(parts or 0)}
            time.sleep(0.02)
    finally:
        client.close()
    raise RuntimeError(f"{task_id} not done after {timeout_s}s")


@contextmanager
def _worker(bench: BenchStack, processes: int, env: dict[str, str]) -> Iterator[None]:
    """A worker started with `env` for one case; stopped, and the case's jobs and blobs forgotten,
    after it."""
    worker = bench.stack.start_worker(name="split", concurrency=processes, env={**QUEUES, **env})
    try:
        yield
    finally:
        bench.stop_process(worker)
        bench.flush()
        bench.clear_blobs()


def _timed(
    bench: BenchStack, data: bytes, env: dict[str, str], processes: int, runs: int, **fields: str
) -> dict[str, Any]:
    """Median seconds of `runs` uploads of `data`, one after another, on a worker started with `env`."""
    with _worker(bench, processes, env):
        _wait(bench, _submit(bench, data, **fields), 600)  # warm the pool processes' imports
        seconds, parts = [], 0.0
        for _ in range(runs):
            done = _wait(bench, _submit(bench, data, **fields), 600)
            seconds.append(done["seconds"])
            parts = done["parts"]
    return {
        "seconds": round(statistics.median(seconds), 3),
        "all_s": [round(s, 3) for s in seconds],
        "parts": int(parts),
    }


def _split_env(min_pages: int, per_part: int) -> dict[str, str]:
    return {"DOCQUEUE_SPLIT_MIN_PAGES": str(min_pages), "DOCQUEUE_SPLIT_PAGES_PER_PART": str(per_part)}


def split_against_whole(
    bench: BenchStack, data: bytes, part_sizes: tuple[int, ...], runs: int, **fields: str
) -> dict[str, Any]:
    whole = _timed(bench, data, _split_env(0, 32), 2, runs, **fields)
    cases = []
    for per_part in part_sizes:
        split = _timed(bench, data, _split_env(2, per_part), 2, runs, **fields)
        cases.append(
            {"pages_per_part": per_part, **split, "speedup": round(whole["seconds"] / split["seconds"], 3)}
        )
    return {"whole": whole, "split": cases}


def part_overhead(bench: BenchStack, data: bytes, pages: int, per_part: int, runs: int) -> dict[str, Any]:
    """One process, the same document whole and split: the difference, per part."""
    whole = _timed(bench, data, _split_env(0, per_part), 1, runs)
    split = _timed(bench, data, _split_env(2, per_part), 1, runs)
    parts = split["parts"]
    return {
        "pages": pages,
        "pages_per_part": per_part,
        "whole_s": whole["seconds"],
        "split_s": split["seconds"],
        "parts": parts,
        "overhead_per_part_ms": round(1000 * (split["seconds"] - whole["seconds"]) / max(1, parts), 1),
    }


def small_during_large(
    bench: BenchStack, small: bytes, large: bytes, per_part: int, samples: int
) -> dict[str, Any]:
    """A one-page upload's latency on an idle stack, and while a large split document runs."""
    with _worker(bench, 2, _split_env(64, per_part)):
        _wait(bench, _submit(bench, small), 60)
        idle = [_wait(bench, _submit(bench, small), 60)["seconds"] for _ in range(samples)]
        large_id = _submit(bench, large)
        time.sleep(2.0)  # its parts are queued and running
        busy = []
        for _ in range(samples):
            busy.append(_wait(bench, _submit(bench, small), 300)["seconds"])
            time.sleep(0.5)
        large_done = _wait(bench, large_id, 900)
    return {
        "idle_s": round(statistics.median(idle), 3),
        "busy_s": round(statistics.median(busy), 3),
        "busy_max_s": round(max(busy), 3),
        "large_s": round(large_done["seconds"], 3),
        "large_parts": int(large_done["parts"]),
    }


def run(bench: BenchStack, quick: bool) -> dict[str, Any]:
    runs = 1 if quick else 2
    dense = cached("dense-600.pdf", lambda: dense_pdf(600)).read_bytes()
    plain = cached("plain-600.pdf", lambda: plain_pdf(600)).read_bytes()
    large = cached("plain-2000.pdf", lambda: plain_pdf(2000)).read_bytes()
    one = cached("one-page.pdf", lambda: plain_pdf(1, seed=4)).read_bytes()
    scan_pages = 8 if quick else 16
    scan = scan_file(scan_pages).read_bytes()
    sizes = (64,) if quick else (32, 64, 100, 150)
    results: dict[str, Any] = {
        "processes": 2,
        "dense_600": split_against_whole(bench, dense, sizes, runs),
        "plain_600": split_against_whole(bench, plain, sizes, runs),
        "ocr_scan": {
            "pages": scan_pages,
            **split_against_whole(bench, scan, (4,) if quick else (2, 4), runs, ocr="always"),
        },
        "overhead": part_overhead(bench, dense, 600, 32, runs),
        "small_during_large": small_during_large(bench, one, large, 32, 3 if quick else 6),
    }
    return results
