"""Stacks of one's own, for tests that need an empty queue or settings of their own.

- `private_stack`: a private Redis and an API; workers are started by the test, when it wants them.
- `database_stack`: an API, a documents worker and a webhooks worker on another database of the
  suite's Redis (its own queues: the suite's shared worker never takes its messages), the way a
  deployment runs them.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import redis

from docqueue import names
from docqueue.auth import Scope
from docqueue_devstack.processes import Process
from docqueue_devstack.redis_server import RedisServer
from docqueue_devstack.stack import Stack
from tests.support.keys import tenant_key


@dataclass(frozen=True)
class PrivateStack:
    stack: Stack
    api_url: str
    redis: redis.Redis
    api: Process
    redis_url: str


@contextmanager
def private_stack(root: Path, env: Mapping[str, str]) -> Iterator[PrivateStack]:
    """A Redis under `root/redis` and an API on it (logs and blobs under `root/stack`); both,
    and every process the test starts on the stack, stopped on the way out."""
    with RedisServer(root / "redis", appendonly=False).start() as server:
        stack = Stack(redis_url=server.url, run_dir=root / "stack", env=env)
        client = redis.Redis.from_url(server.url)
        try:
            api, url = stack.start_api()
            yield PrivateStack(stack, url, client, api, server.url)
        finally:
            stack.stop()
            client.close()


@dataclass(frozen=True)
class DatabaseStack:
    """An API and its workers on a Redis database of their own."""

    stack: Stack
    api_url: str
    redis_url: str

    @property
    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url)

    def key(self, tenant: str | None = None, scopes: set[Scope] | None = None) -> str:
        return tenant_key(self.redis, tenant, scopes)

    def client(self, tenant: str | None = None, scopes: set[Scope] | None = None) -> httpx.Client:
        key = self.key(tenant, scopes)
        return httpx.Client(base_url=self.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


@contextmanager
def database_stack(
    redis_url: str, db: int, run_dir: Path, env: Mapping[str, str], concurrency: int = 2
) -> Iterator[DatabaseStack]:
    """API, documents worker (both lanes) and webhooks worker (threads) on database `db`."""
    db_url = other_database(redis_url, db)
    redis.Redis.from_url(db_url).flushdb()
    stack = Stack(redis_url=db_url, run_dir=run_dir, env=env)
    try:
        _, url = stack.start_api()
        documents = ",".join(names.DOCUMENT_QUEUES)
        stack.start_worker("documents-worker", concurrency, env={"DOCQUEUE_QUEUES": documents})
        stack.start_worker(
            "webhooks-worker", 2, env={"DOCQUEUE_QUEUES": names.WEBHOOKS_QUEUE}, args=["--pool", "threads"]
        )
        yield DatabaseStack(stack, url, db_url)
    finally:
        stack.stop()


@contextmanager
def empty_database(redis_url: str, db: int) -> Iterator[str]:
    """The URL of another database of the suite's Redis, emptied before and after (for tests of
    the job scripts that count what they find)."""
    url = other_database(redis_url, db)
    redis.Redis.from_url(url).flushdb()
    try:
        yield url
    finally:
        redis.Redis.from_url(url).flushdb()


def other_database(url: str, db: int) -> str:
    """The same Redis, another database: for a stack whose queues no other worker of the suite
    listens to."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))
