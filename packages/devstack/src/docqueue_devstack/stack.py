"""The docqueue services as child processes of this one, all sharing one Redis and one blob dir."""

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from docqueue import names
from docqueue.redis_url import REDIS_URL_VARIABLES, kombu_broker
from docqueue_devstack.processes import Process, Supervisor, free_port, http_ok, wait_until

EXPORTER_PORT = 9808
FLOWER_PORT = 5555


@dataclass
class Stack:
    """Starts api, workers, beat, Flower and the celery-exporter; `stop()` stops every one by PID."""

    redis_url: str
    run_dir: Path
    env: Mapping[str, str] = field(default_factory=dict)
    # The variable the children read redis_url from (REDIS_URL works too, see docqueue.redis_url).
    redis_variable: str = "DOCQUEUE_REDIS_URL"
    processes: list[Process] = field(default_factory=list)
    supervisor: Supervisor = field(default_factory=Supervisor)
    # Worker name -> the URL its main process serves Prometheus metrics on.
    worker_metrics: dict[str, str] = field(default_factory=dict)

    def base_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        # The children's Redis is this stack's alone: an inherited REDIS_URL naming another one
        # would make them refuse to start (docqueue.redis_url).
        env = {name: value for name, value in os.environ.items() if name not in REDIS_URL_VARIABLES}
        env.update(
            {
                self.redis_variable: self.redis_url,
                "DOCQUEUE_STORAGE_URL": f"file://{self.run_dir / 'blobs'}",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.env)
        env.update(extra or {})
        return env

    def _spawn(self, name: str, argv: list[str], env: Mapping[str, str] | None = None) -> Process:
        log = self.run_dir / "logs" / f"{name}.log"
        process = Process(name, argv, self.base_env(env), log).start()
        self.processes.append(process)
        return process

    def start_api(self, port: int | None = None, env: Mapping[str, str] | None = None) -> tuple[Process, str]:
        port = port or free_port()
        argv = [
            sys.executable, "-m", "uvicorn", "docqueue_api.main:app",
            "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
        ]  # fmt: skip
        process = self._spawn(f"api-{port}", argv, env)
        url = f"http://127.0.0.1:{port}"
        if not wait_until(lambda: http_ok(f"{url}/healthz") or not process.alive(), timeout_s=30):
            raise RuntimeError(f"the API did not start:\n{process.log_tail()}")
        if not process.alive():
            raise RuntimeError(f"the API exited:\n{process.log_tail()}")
        return process, url

    def start_worker(
        self,
        name: str = "worker",
        concurrency: int = 2,
        env: Mapping[str, str] | None = None,
        restart: bool = False,
        args: Sequence[str] = (),
    ) -> Process:
        """A `celery worker` (`args` appended to its command line); with `restart`, started
        again whenever it exits unasked."""
        argv = [
            sys.executable, "-m", "docqueue_worker",
            "--hostname", f"{name}@%h", "--concurrency", str(concurrency), *args,
        ]  # fmt: skip
        # Each worker on this machine serves metrics on a port of its own, from a multiprocess
        # directory of its own (the worker empties it at start). `env` may override both.
        metrics_port = str(free_port())
        env = {
            "DOCQUEUE_METRICS_PORT": metrics_port,
            "DOCQUEUE_METRICS_ADDRESS": "127.0.0.1",
            "PROMETHEUS_MULTIPROC_DIR": str(self.run_dir / "metrics" / name),
            **(env or {}),
        }
        process = self._spawn(name, argv, env)
        self.worker_metrics[name] = f"http://127.0.0.1:{env['DOCQUEUE_METRICS_PORT']}/metrics"
        if not wait_until(lambda: "ready." in process.log_tail(200) or not process.alive(), timeout_s=60):
            raise RuntimeError(f"the worker did not start:\n{process.log_tail()}")
        if not process.alive():
            raise RuntimeError(f"the worker exited:\n{process.log_tail()}")
        if restart:
            self.supervisor.watch(process)
        return process

    def start_beat(self, name: str = "beat", env: Mapping[str, str] | None = None) -> Process:
        argv = [sys.executable, "-m", "docqueue_beat", "--hostname", f"{name}@%h"]
        process = self._spawn(name, argv, env)
        if not wait_until(lambda: "ready." in process.log_tail(200) or not process.alive(), timeout_s=60):
            raise RuntimeError(f"beat did not start:\n{process.log_tail()}")
        return process

    def start_flower(self, port: int = FLOWER_PORT, basic_auth: str = "admin:admin") -> tuple[Process, str]:
        argv = [
            # The app, not `--broker URL`: a Sentinel broker needs its transport options too.
            sys.executable, "-m", "celery", "-A", "docqueue.celery_cli", "flower",
            "--address=127.0.0.1", f"--port={port}", "--url_prefix=flower",
            f"--basic_auth={basic_auth}", "--purge_offline_workers=300",
        ]  # fmt: skip
        process = self._spawn("flower", argv)
        url = f"http://127.0.0.1:{port}/flower"
        if not wait_until(lambda: http_ok(f"{url}/healthcheck") or not process.alive(), timeout_s=30):
            raise RuntimeError(f"Flower did not start:\n{process.log_tail()}")
        return process, url

    def start_exporter(self, python: Path, port: int = EXPORTER_PORT) -> tuple[Process, str]:
        """The celery-exporter from its own virtual environment (it pins older redis and
        prometheus-client than ours)."""
        # The package ships its click command (`src.cli:cli`) but no script and no `__main__`:
        # `python -m src.cli` would define the command and exit at once.
        broker = kombu_broker(self.redis_url, self.base_env().get("DOCQUEUE_REDIS_SENTINEL_PASSWORD"))
        options = [f"--broker-transport-option={option}" for option in broker.option_arguments()]
        argv = [
            str(python), "-c", "from src.cli import cli; cli()", "--broker-url", broker.url, *options,
            "--host", "127.0.0.1", "--port", str(port),
            "--queues", ",".join(names.QUEUES), "--generic-hostname-task-sent-metric",
            # Reconnect after a broker error (a Redis restart, a failover): its default 0 exits.
            "--retry-interval", "5",
        ]  # fmt: skip
        process = self._spawn("celery-exporter", argv)
        url = f"http://127.0.0.1:{port}/metrics"
        # /health answers at once; /metrics asks the workers first (a second or two).
        health = f"http://127.0.0.1:{port}/health"
        wait_until(lambda: http_ok(health) or not process.alive(), timeout_s=60)
        if not process.alive() or not http_ok(health):
            raise RuntimeError(f"the celery-exporter did not start:\n{process.log_tail()}")
        return process, url

    def stop(self) -> None:
        self.supervisor.stop()
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
