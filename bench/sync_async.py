"""Sync vs async: how long a client waits for an answer about a 100-page PDF. Synchronous
extraction in the request (the baseline app's /extract) against docqueue's 202."""

import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from bench.stack import BenchStack
from bench.worker import unique_copy


def _answers(
    url: str, path: str, data: bytes, fields: dict[str, str], headers: dict[str, str], runs: int
) -> list[float]:
    times = []
    with httpx.Client(base_url=url, headers=headers, timeout=300) as client:
        for _ in range(runs + 1):
            files = {"file": ("doc.pdf", unique_copy(data), "application/pdf")}
            began = time.perf_counter()
            response = client.post(path, files=files, data=fields)
            response.raise_for_status()
            times.append(time.perf_counter() - began)
    return times[1:]  # the first one warms the connection and the app up


def run(bench: BenchStack, file: Path, runs: int) -> list[dict[str, Any]]:
    baseline_url = bench.start_baseline()
    data = file.read_bytes()
    auth = {"Authorization": f"Bearer {bench.api_key}"}
    rows = []
    for engine in ("pypdf", "pdfium"):
        sync = _answers(baseline_url, "/extract", data, {"engine": engine}, {}, max(3, runs // 4))
        queued = _answers(bench.api_url, "/v1/documents", data, {"engine": engine}, auth, runs)
        bench.flush()
        bench.clear_blobs()
        sync_ms = statistics.median(sync) * 1000
        async_ms = statistics.median(queued) * 1000
        rows.append(
            {
                "engine": engine,
                "pages": 100,
                "sync_extraction_ms": round(sync_ms, 1),
                "docqueue_202_ms": round(async_ms, 1),
                "speedup": round(sync_ms / async_ms, 1),
            }
        )
        print(
            f"  sync vs async ({engine}): {sync_ms:.0f} ms in the request, {async_ms:.1f} ms to a 202",
            flush=True,
        )
    return rows
