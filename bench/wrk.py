"""Run wrk (the load client: C, epoll, one thread is enough for these rates) and read its summary."""

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    errors: dict[str, int]
    statuses: dict[str, int]

    @property
    def rate_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    def ok_count(self, *codes: int) -> int:
        return sum(count for status, count in self.statuses.items() if int(status) in codes)

    def as_dict(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "duration_s": round(self.duration_s, 3),
            "rate_per_s": round(self.rate_per_s, 1),
            "p50_ms": self.p50_ms,
            "p90_ms": self.p90_ms,
            "p99_ms": self.p99_ms,
            "mean_ms": self.mean_ms,
            "max_ms": self.max_ms,
            "errors": self.errors,
            "statuses": self.statuses,
        }


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed: `make bench` installs it (Debian package wrk)")
    return found


def run_wrk(
    url: str,
    script: str,
    env: dict[str, str],
    connections: int,
    duration_s: float,
    timeout_s: float = 60,
    stop_when: Callable[[], bool] | None = None,
) -> WrkResult:
    """wrk for `duration_s`, or until `stop_when()` holds (checked every 0.2 s; wrk's SIGINT ends
    the run early and still prints its summary)."""
    argv = [
        wrk_binary(), "-t1", f"-c{connections}", f"-d{duration_s:g}s", f"--timeout={timeout_s:g}s",
        "-s", str(HERE / script), url,
    ]  # fmt: skip
    full_env = {**os.environ, **env, "BENCH_DONE_LUA": str(HERE / "done.lua")}
    process = subprocess.Popen(argv, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + duration_s + timeout_s + 30
    try:
        while process.poll() is None and time.monotonic() < deadline:
            if stop_when is not None and stop_when():
                process.send_signal(signal.SIGINT)
                break
            time.sleep(0.2)
        stdout, stderr = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    line = next((ln for ln in stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{stdout}\n{stderr}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    return WrkResult(
        requests=raw["requests"],
        duration_s=raw["duration_us"] / 1e6,
        p50_ms=raw["p50"] / 1000,
        p90_ms=raw["p90"] / 1000,
        p99_ms=raw["p99"] / 1000,
        mean_ms=round(raw["mean_us"] / 1000, 3),
        max_ms=raw["max_us"] / 1000,
        errors=raw["errors"],
        statuses={str(k): v for k, v in raw["statuses"].items()},
    )
