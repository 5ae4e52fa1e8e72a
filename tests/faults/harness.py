"""A stack of real processes for fault tests: its own Redis servers, short timeouts, and the
invariant every fault test ends with."""

import json
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

from docqueue import names
from docqueue.auth import Scope, generate_api_key, store_api_key
from docqueue.celery_app import create_celery_app
from docqueue.jobs import keys
from docqueue.lanes import publish_part
from docqueue.redis_url import redis_client
from docqueue.settings import Settings
from docqueue.text import as_text
from docqueue_devstack.processes import Process
from docqueue_devstack.profiles import FAULT_ENV
from docqueue_devstack.redis_server import RedisServer
from docqueue_devstack.sentinel import SentinelCluster
from docqueue_devstack.stack import Stack
from tests.support.http import TERMINAL

# Every accepted job must be terminal within this bound after the fault ends.
TERMINAL_BOUND_S = 90.0


@dataclass
class FaultStack:
    """Redis (AOF), an API, and as many workers and beats as a test starts; all stopped by PID."""

    root: Path
    env: dict[str, str] = field(default_factory=lambda: dict(FAULT_ENV))
    separate_broker: bool = False
    # A master, a replica and three sentinels instead of one Redis; `redis_server` is then the
    # first master (which a failover turns into a replica).
    sentinel: bool = False
    cluster: SentinelCluster | None = field(init=False, default=None)
    redis_server: RedisServer = field(init=False)
    broker_server: RedisServer | None = field(init=False, default=None)
    stack: Stack = field(init=False)
    api_url: str = field(init=False, default="")
    api_process: Process | None = field(init=False, default=None)
    key: str = field(init=False, default="")

    def __post_init__(self) -> None:
        if self.sentinel:
            self.cluster = SentinelCluster(self.root / "sentinel").start()
            self.redis_server = self.cluster.servers[0]
        else:
            self.redis_server = RedisServer(self.root / "redis", appendonly=True).start()
        if self.separate_broker:
            # The broker without persistence: a restart wipes the queues, the jobs survive.
            self.broker_server = RedisServer(self.root / "broker", appendonly=False).start()
            self.env["DOCQUEUE_BROKER_URL"] = self.broker_server.url
        self.stack = Stack(redis_url=self.redis_url, run_dir=self.root / "stack", env=self.env)

    @property
    def redis_url(self) -> str:
        return self.cluster.url if self.cluster is not None else self.redis_server.url

    @property
    def store(self) -> redis.Redis:
        """The jobs' Redis: through the sentinels, the master of the moment."""
        return redis_client(self.redis_url, socket_connect_timeout=1, socket_timeout=5)

    @property
    def broker(self) -> redis.Redis:
        url = self.broker_server.url if self.broker_server is not None else self.redis_url
        return redis_client(url, socket_connect_timeout=1, socket_timeout=5)

    def start_api(self, env: Mapping[str, str] | None = None) -> Process:
        self.api_process, self.api_url = self.stack.start_api(env=env)
        self.key = generate_api_key()
        store_api_key(self.store, self.key, f"fault-{uuid.uuid4().hex[:6]}", set(Scope))
        return self.api_process

    def start_worker(
        self,
        name: str = "worker",
        concurrency: int = 1,
        env: Mapping[str, str] | None = None,
        restart: bool = False,
    ) -> Process:
        return self.stack.start_worker(name=name, concurrency=concurrency, env=env, restart=restart)

    def start_beat(self, name: str = "beat") -> Process:
        return self.stack.start_beat(name=name)

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.api_url, headers={"Authorization": f"Bearer {self.key}"}, timeout=30
        )

    def publish(self, task_id: str) -> None:
        """Send one more `documents.process` message for the task, as a duplicate would arrive."""
        settings = Settings(redis_url=self.redis_url, broker_url=self.env.get("DOCQUEUE_BROKER_URL"))
        app = create_celery_app(settings)
        try:
            app.send_task(names.PROCESS_DOCUMENT, args=[task_id], task_id=task_id)
        finally:
            app.close()

    def publish_part(self, task_id: str, run_id: str, index: int) -> None:
        """Send one more `documents.process_part` message, as a duplicate would arrive."""
        settings = Settings(redis_url=self.redis_url, broker_url=self.env.get("DOCQUEUE_BROKER_URL"))
        app = create_celery_app(settings)
        try:
            publish_part(app, task_id, run_id, index, settings)
        finally:
            app.close()

    def dead_letter_ids(self) -> list[str]:
        entries = self.store.xrange(keys.DEAD_LETTERS) or []
        return [as_text((fields or {})[b"task_id"]) for _, fields in entries]

    def job(self, task_id: str) -> dict[str, str]:
        raw: dict[bytes, bytes] = self.store.hgetall(keys.job(task_id))  # type: ignore[assignment]
        return {k.decode(): v.decode() for k, v in raw.items()}

    def history(self, task_id: str) -> list[dict[str, Any]]:
        return [json.loads(entry) for entry in self.store.lrange(keys.job_history(task_id), 0, -1)]

    def wait_job(self, task_id: str, predicate: Any, timeout_s: float = 60) -> dict[str, str]:
        deadline = time.monotonic() + timeout_s
        job: dict[str, str] = {}
        while time.monotonic() < deadline:
            try:
                job = self.job(task_id)
            except redis.RedisError:
                job = {}
            if job and predicate(job):
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {task_id} never matched; last seen {job}")

    def result_blobs(self, task_id: str) -> list[Path]:
        folder = self.root / "stack" / "blobs" / "results" / task_id
        return sorted(path for path in folder.glob("*.json") if not path.name.startswith("part-"))

    def part_blobs(self, task_id: str) -> list[Path]:
        """A split job's stored parts (deleted once its result is published)."""
        return sorted((self.root / "stack" / "blobs" / "results" / task_id).glob("part-*.json"))

    def assert_invariants(
        self, task_ids: list[str], bound_s: float = TERMINAL_BOUND_S, endings: int = 1
    ) -> dict[str, dict[str, str]]:
        """Every accepted job reaches exactly one terminal state within the bound (`endings` in
        its history: more when the test replayed it), at most one result exists per job (exactly
        one when it succeeded), and the queues and `unacked` drain."""
        finals = {
            task_id: self.wait_job(task_id, lambda j: j.get("state") in TERMINAL, bound_s)
            for task_id in task_ids
        }
        time.sleep(1.0)  # late duplicates, if any, would act now
        for task_id, final in finals.items():
            assert self.job(task_id)["state"] == final["state"], f"{task_id} changed after ending"
            blobs = self.result_blobs(task_id)
            assert len(blobs) <= 1, f"{task_id} has {len(blobs)} results"
            if final["state"] == "succeeded":
                assert len(blobs) == 1
                assert final["result_key"].endswith(blobs[0].name)
                assert self.part_blobs(task_id) == [], f"{task_id} left part blobs"
            ended = [e for e in self.history(task_id) if e["event"] in TERMINAL]
            assert len(ended) == endings, f"{task_id} ended {len(ended)} times: {ended}"
        self.wait_drained(bound_s)
        return finals

    def wait_drained(self, timeout_s: float) -> None:
        broker = self.broker
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if (
                all(broker.llen(queue) == 0 for queue in names.DOCUMENT_QUEUES)
                and broker.hlen("unacked") == 0
            ):
                return
            time.sleep(0.2)
        queued = {queue: broker.llen(queue) for queue in names.DOCUMENT_QUEUES}
        raise AssertionError(f"broker not drained: queues={queued} unacked={broker.hlen('unacked')}")

    def assert_reconnected(self, *processes: Process) -> None:
        """The processes lived through the fault: reconnected, never restarted, and the API
        still serves."""
        for process in [*processes, *([self.api_process] if self.api_process else [])]:
            assert process.alive(), f"{process.name} exited:\n{process.log_tail()}"
            assert process.restarts == 0, f"{process.name} was restarted:\n{process.log_tail()}"
            assert "Unrecoverable error" not in process.log_path.read_text(errors="replace")
        assert httpx.get(f"{self.api_url}/readyz", timeout=5).status_code == 200

    def stop(self) -> None:
        self.stack.stop()
        if self.broker_server is not None:
            self.broker_server.stop()
        if self.cluster is not None:
            self.cluster.stop()
        self.redis_server.stop()


@contextmanager
def fault_stack(root: Path, **kwargs: Any) -> Iterator[FaultStack]:
    stack = FaultStack(root, **kwargs)
    try:
        yield stack
    finally:
        stack.stop()


def holder_pid(job: Mapping[str, str]) -> int:
    return int(job["holder"].rpartition(":")[2])
