"""Upload: docqueue's POST /v1/documents against the minimal "save multipart + LPUSH" endpoint."""

import uuid
from pathlib import Path
from typing import Any

from bench.stack import BenchStack
from bench.wrk import WrkResult, run_wrk

CONCURRENCY = (1, 32)


def _upload(url: str, path: str, file: Path, auth: str, connections: int, duration_s: float) -> WrkResult:
    env = {"BENCH_FILE": str(file), "BENCH_PATH": path, "BENCH_AUTH": auth, "BENCH_RUN": uuid.uuid4().hex}
    return run_wrk(url, "upload.lua", env, connections, duration_s)


def summarize(result: WrkResult) -> dict[str, Any]:
    accepted = result.ok_count(202)
    return {
        **result.as_dict(),
        "accepted": accepted,
        "accepted_per_s": round(accepted / result.duration_s, 1),
    }


def run(bench: BenchStack, files: dict[str, Path], duration_s: float) -> list[dict[str, Any]]:
    baseline_url = bench.start_baseline()
    rows = []
    for label, file in files.items():
        # Warm both apps up (imports, connection pools, page cache) before anything is measured.
        _upload(baseline_url, "/upload", file, "", 4, 1)
        _upload(bench.api_url, "/v1/documents", file, bench.api_key, 4, 1)
        for connections in CONCURRENCY:
            bench.clear_blobs()
            baseline = summarize(_upload(baseline_url, "/upload", file, "", connections, duration_s))
            bench.clear_blobs()
            docqueue = summarize(
                _upload(bench.api_url, "/v1/documents", file, bench.api_key, connections, duration_s)
            )
            bench.clear_blobs()
            bench.flush()
            rows.append(
                {
                    "file": label,
                    "size_bytes": file.stat().st_size,
                    "concurrency": connections,
                    "baseline": baseline,
                    "docqueue": docqueue,
                    "throughput_ratio": _ratio(docqueue["accepted_per_s"], baseline["accepted_per_s"]),
                    "p99_ratio": _ratio(docqueue["p99_ms"], baseline["p99_ms"]),
                    "p50_ratio": _ratio(docqueue["p50_ms"], baseline["p50_ms"]),
                }
            )
            print(
                f"  upload {label} c={connections}: docqueue {docqueue['accepted_per_s']}/s "
                f"p99 {docqueue['p99_ms']} ms; baseline {baseline['accepted_per_s']}/s "
                f"p99 {baseline['p99_ms']} ms",
                flush=True,
            )
    return rows


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 3) if denominator else None
