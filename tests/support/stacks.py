"""A stack of one's own: a private Redis and an API, for tests that need an empty queue or
settings of their own. Workers are started by the test, when it wants them."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis

from docqueue_devstack.redis_server import RedisServer
from docqueue_devstack.stack import Stack


@dataclass(frozen=True)
class PrivateStack:
    stack: Stack
    api_url: str
    redis: redis.Redis


@contextmanager
def private_stack(root: Path, env: Mapping[str, str]) -> Iterator[PrivateStack]:
    with RedisServer(root / "redis", appendonly=False).start() as server:
        stack = Stack(redis_url=server.url, run_dir=root / "stack", env=env)
        try:
            _, url = stack.start_api()
            yield PrivateStack(stack, url, redis.Redis.from_url(server.url))
        finally:
            stack.stop()


def other_database(url: str, db: int) -> str:
    """The same Redis, another database: for a stack whose queues no other worker of the suite
    listens to."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))
