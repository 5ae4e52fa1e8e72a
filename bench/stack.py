"""The processes a benchmark runs against: a Redis of its own, docqueue's API and workers (through
the devstack, stopped by PID) and the baseline apps. Loopback only; nothing outlives a run."""

import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis

from docqueue.auth import Scope, generate_api_key, store_api_key
from docqueue_devstack.processes import Process, free_port, http_ok, wait_until
from docqueue_devstack.redis_server import RedisServer
from docqueue_devstack.stack import Stack

# What the benchmark changes from docqueue's defaults, recorded with every result.
BENCH_ENV = {
    # The per-tenant rate limit stays on (its Redis round trip is part of every request) but high
    # enough that one tenant's load generator is never refused.
    "DOCQUEUE_RATE_LIMIT_PER_S": "1000000",
    "DOCQUEUE_RATE_LIMIT_BURST": "1000000",
    # Uploads without workers fill the queue past the default cap of 10 000.
    "DOCQUEUE_MAX_QUEUE_DEPTH": "10000000",
    "DOCQUEUE_LOG_FORMAT": "json",
    "DOCQUEUE_WORKER_SOFT_SHUTDOWN_TIMEOUT_S": "1",
}
TENANT = "bench"


@dataclass
class BenchStack:
    """One Redis, one docqueue stack and the baseline app over it, under a temporary directory."""

    root: Path
    redis_server: RedisServer
    stack: Stack
    api_key: str = ""
    api_url: str = ""
    extra: list[Process] = field(default_factory=list)

    @property
    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_server.url)

    @property
    def blob_dir(self) -> Path:
        return self.root / "blobs"

    def start_api(self) -> str:
        _, self.api_url = self.stack.start_api()
        return self.api_url

    def start_worker(self, concurrency: int, name: str = "worker") -> Process:
        env = {"DOCQUEUE_QUEUES": "documents,documents.bulk"}
        return self.stack.start_worker(name=name, concurrency=concurrency, env=env)

    def stop_process(self, process: Process) -> None:
        process.stop()
        if process in self.stack.processes:
            self.stack.processes.remove(process)

    def start_baseline(self) -> str:
        """The minimal FastAPI app (bench/baseline_app.py) under the same uvicorn as docqueue's."""
        port = free_port()
        argv = [
            sys.executable, "-m", "uvicorn", "bench.baseline_app:app",
            "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
        ]  # fmt: skip
        env = self.stack.base_env({"BENCH_BLOB_DIR": str(self.root / "baseline-blobs")})
        process = Process("baseline", argv, env, self.root / "logs" / "baseline.log").start()
        self.extra.append(process)
        url = f"http://127.0.0.1:{port}"
        if not wait_until(lambda: http_ok(f"{url}/healthz") or not process.alive(), timeout_s=30):
            raise RuntimeError(f"the baseline app did not start:\n{process.log_tail()}")
        return url

    def start_noop_worker(self) -> Process:
        """A bare Celery worker with docqueue's Celery configuration and one no-op task."""
        argv = [
            sys.executable, "-m", "celery", "-A", "bench.celery_noop", "worker",
            "--queues", "bench", "--concurrency", "1", "--loglevel", "INFO",
            "--without-mingle", "--without-gossip", "--hostname", "noop@%h",
        ]  # fmt: skip
        env = self.stack.base_env()
        process = Process("noop-worker", argv, env, self.root / "logs" / "noop.log").start()
        self.extra.append(process)
        if not wait_until(lambda: "ready." in process.log_tail(200) or not process.alive(), timeout_s=60):
            raise RuntimeError(f"the no-op worker did not start:\n{process.log_tail()}")
        return process

    def clear_blobs(self) -> None:
        """Uploads of one case are not needed by the next: keep the disk use of a run bounded."""
        for directory in (self.blob_dir, self.root / "baseline-blobs"):
            for child in directory.glob("*"):
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)

    def flush(self) -> None:
        """Forget the jobs, queued messages and baseline uploads of earlier cases. Celery's own
        keys (`_kombu.binding.*`) stay: without them a publish is silently routed nowhere."""
        client = self.redis
        doomed = [
            key
            for pattern in ("docqueue:*", "bench:*", "documents*", "unacked*", "celery-task-meta-*")
            for key in client.scan_iter(match=pattern, count=1000)
            if not key.startswith(b"docqueue:apikey:")
        ]
        for start in range(0, len(doomed), 1000):
            client.delete(*doomed[start : start + 1000])
        client.close()


@contextmanager
def bench_stack(env: Mapping[str, str] | None = None) -> Iterator[BenchStack]:
    # Always a Redis of its own, whatever DOCQUEUE_REDIS_URL or REDIS_URL say: `flush` deletes keys.
    root = Path(tempfile.mkdtemp(prefix="docqueue-bench-"))
    server = RedisServer(root / "redis", appendonly=False).start()
    stack = Stack(redis_url=server.url, run_dir=root, env={**BENCH_ENV, **(env or {})})
    bench = BenchStack(root, server, stack, api_key=generate_api_key())
    client = bench.redis
    store_api_key(client, bench.api_key, TENANT, set(Scope), name="bench")
    client.close()
    try:
        yield bench
    finally:
        stack.stop()
        for process in reversed(bench.extra):
            process.stop(timeout_s=5)
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
