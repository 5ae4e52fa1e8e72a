"""A real Prometheus for tests: Debian's `prometheus` (installed by `make prometheus` when
missing), on loopback, scraping what a test gives it; stopped by PID."""

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from docqueue_devstack.processes import Process, free_port, http_ok, wait_until

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
RULE_FILES = sorted(MONITORING.glob("*.rules.yaml"))
RULE_TESTS = sorted((MONITORING / "tests").glob("*.test.yaml"))
DASHBOARDS = sorted(MONITORING.glob("*.json"))


def binary(name: str) -> str:
    """`promtool` or `prometheus` (Debian's package: `make deps` installs it, `make test` runs that)."""
    found = shutil.which(name)
    assert found is not None, f"{name} is missing: run `make deps` (or `make test`, which runs it)"
    return found


@dataclass(frozen=True)
class Target:
    job: str
    address: str  # host:port
    metrics_path: str = "/metrics"
    basic_auth: tuple[str, str] | None = None
    # The celery-exporter asks the workers (inspect, ~1 s) during each scrape: it needs longer.
    interval_s: float | None = None


def config(targets: list[Target], rule_files: list[Path], interval_s: float) -> dict[str, Any]:
    scrape_configs = []
    for target in targets:
        job: dict[str, Any] = {
            "job_name": target.job,
            "metrics_path": target.metrics_path,
            "static_configs": [{"targets": [target.address]}],
        }
        if target.interval_s is not None:
            job["scrape_interval"] = job["scrape_timeout"] = f"{target.interval_s:g}s"
        if target.basic_auth is not None:
            job["basic_auth"] = {"username": target.basic_auth[0], "password": target.basic_auth[1]}
        scrape_configs.append(job)
    return {
        "global": {"scrape_interval": f"{interval_s:g}s", "evaluation_interval": f"{interval_s:g}s"},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": scrape_configs,
    }


class Prometheus:
    """One prometheus process with its own config and storage under `root`."""

    def __init__(self, root: Path, targets: list[Target], interval_s: float = 1.0) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config_path = root / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config(targets, RULE_FILES, interval_s)))
        argv = [
            binary("prometheus"),
            f"--config.file={config_path}",
            f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=1h",
            "--log.level=warn",
        ]
        self.process = Process("prometheus", argv, {"PATH": "/usr/bin:/bin"}, root / "prometheus.log")

    def start(self) -> "Prometheus":
        self.process.start()
        if not wait_until(lambda: http_ok(f"{self.url}/-/ready") or not self.process.alive(), timeout_s=30):
            raise RuntimeError(f"Prometheus did not start:\n{self.process.log_tail()}")
        if not self.process.alive():
            raise RuntimeError(f"Prometheus exited:\n{self.process.log_tail()}")
        return self

    def stop(self) -> None:
        self.process.stop()

    def api(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=30)
        body = response.json()
        assert body.get("status") == "success", f"{path} {params}: {body}"
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = at
        result: list[dict[str, Any]] = self.api("query", **params)["result"]
        return result

    def query_range(self, expr: str, start: float, end: float, step_s: float) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.api(
            "query_range", query=expr, start=start, end=end, step=f"{step_s:g}s"
        )["result"]
        return result

    def targets(self) -> dict[str, str]:
        """Job -> "up", or the last scrape's error."""
        active = self.api("targets")["activeTargets"]
        return {
            target["labels"]["job"]: "up" if target["health"] == "up" else target["lastError"] or "unknown"
            for target in active
        }

    def wait_targets_up(self, timeout_s: float = 30) -> dict[str, str]:
        wait_until(lambda: set(self.targets().values()) == {"up"}, timeout_s=timeout_s, interval_s=0.5)
        return self.targets()

    def wait_data(self, expr: str, timeout_s: float = 30) -> bool:
        return wait_until(lambda: bool(self.query(expr)), timeout_s=timeout_s, interval_s=0.5)


def now() -> float:
    return time.time()
