"""`make bench` / `python -m bench`: every benchmark against its baseline, in one run, on loopback.

Prints a table, writes bench/results/<time>.json and latest.json, and draws the plots. `--quick`
runs each case briefly (for development); the recorded run uses the defaults. Bounded: each case
has a fixed size or duration, and every process is started and stopped by PID.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench import (
    backlog,
    batch,
    e2e,
    engines,
    failover,
    formats,
    ocr,
    prefer_wait,
    split,
    sync_async,
    upload,
    worker,
)
from bench.pdfs import bench_files, real_files
from bench.report import plot, table
from bench.stack import BENCH_ENV, bench_stack

RESULTS = Path(__file__).resolve().parent / "results"
SECTIONS = (
    "upload",
    "worker",
    "e2e",
    "backlog",
    "sync_async",
    "engines",
    "ocr",
    "formats",
    "prefer_wait",
    "batch",
    "failover",
    "split",
)


def load_average() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = int(
        next(
            line.split()[1]
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "commit": commit,
        "versions": {
            name: version(name) for name in ("pypdf", "pypdfium2", "celery", "fastapi", "uvicorn", "redis")
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs, for development")
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}"
    )
    parser.add_argument(
        "--max-load",
        type=float,
        default=float(os.environ.get("BENCH_MAX_LOAD", "0")),
        help="wait (up to --wait-s) until the 1-minute load average is below this; 0: do not wait",
    )
    parser.add_argument("--wait-s", type=float, default=600)
    argv = sys.argv[1:]
    args = parser.parse_args(argv)
    sections = [s for s in args.only.split(",") if s]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    quick = args.quick
    deadline = time.monotonic() + args.wait_s
    while args.max_load and load_average()[0] > args.max_load and time.monotonic() < deadline:
        print(f"waiting for the machine to calm down (load {load_average()[0]})", flush=True)
        time.sleep(15)

    files = bench_files()
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "machine": machine(),
        "load_average_before": load_average(),
        "settings_changed": BENCH_ENV,
        "command": "make bench" + (f' BENCH_ARGS="{" ".join(argv)}"' if argv else ""),
    }
    began = time.monotonic()
    with bench_stack() as bench:
        bench.start_api()
        if "upload" in sections:
            print("upload", flush=True)
            results["upload"] = upload.run(
                bench, {"100 KB": files["upload_100k"], "5 MB": files["upload_5m"]}, 3 if quick else 8
            )
        if "worker" in sections:
            print("worker throughput", flush=True)
            per_process = (
                {("plain", "pypdf"): 2, ("plain", "pdfium"): 4, ("dense", "pypdf"): 1, ("dense", "pdfium"): 2}
                if quick
                else {
                    ("plain", "pypdf"): 6,
                    ("plain", "pdfium"): 16,
                    ("dense", "pypdf"): 2,
                    ("dense", "pdfium"): 6,
                }
            )
            results["worker"] = worker.run(bench, files, per_process)
        if "e2e" in sections:
            print("end to end", flush=True)
            results["e2e"] = e2e.run(
                bench, files["one_page"], ("pypdf", "pdfium"), 60 if quick else 500, 0.001
            )
        if "backlog" in sections:
            print("backlog", flush=True)
            results["backlog"] = backlog.run(
                bench, files["one_page"], 1000 if quick else 10_000, 3 if quick else 8
            )
        if "sync_async" in sections:
            print("sync vs async", flush=True)
            results["sync_async"] = sync_async.run(bench, files["plain"], 4 if quick else 12)
        if "ocr" in sections:
            print("ocr", flush=True)
            results["ocr"] = ocr.run(bench, files["plain"], quick)
        if "prefer_wait" in sections:
            print("prefer wait", flush=True)
            results["prefer_wait"] = prefer_wait.run(bench, files["one_page"], 50 if quick else 300)
        if "batch" in sections:
            print("batch", flush=True)
            results["batch"] = batch.run(
                bench, files["one_page"].read_bytes(), 40 if quick else 200, 1 if quick else 3
            )
        if "formats" in sections:
            print("formats", flush=True)
            results["formats"] = formats.run(bench, files["plain"], quick)
        if "split" in sections:
            print("split", flush=True)
            results["split"] = split.run(bench, quick)
    if "failover" in sections:
        # Stacks of its own: a sentinel setup, and Redis servers it measures.
        print("failover", flush=True)
        results["failover"] = failover.run(files["one_page"].read_bytes(), quick)
    if "engines" in sections:
        print("engines", flush=True)
        engine_files = {"plain": files["plain"], "dense": files["dense"], **real_files()}
        results["engines"] = engines.run(engine_files, 1 if quick else 3)
    results["duration_s"] = round(time.monotonic() - began, 1)
    results["load_average_after"] = load_average()

    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    # A run of some sections is named after them and leaves latest.json (a full run) alone.
    partial = "" if set(sections) == set(SECTIONS) else "-" + "-".join(sections)
    name = f"{stamp}{partial}{'-quick' if quick else ''}.json"
    text = json.dumps(results, indent=2)
    (RESULTS / name).write_text(text + "\n")
    if not partial:
        (RESULTS / ("latest-quick.json" if quick else "latest.json")).write_text(text + "\n")
    print()
    print(table(results))
    print(f"\nwritten: bench/results/{name}")
    for path in plot(results, RESULTS, suffix="-quick" if quick else ""):
        print(f"plot: {path.relative_to(RESULTS.parent.parent)}")


if __name__ == "__main__":
    main()
