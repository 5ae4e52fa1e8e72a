"""Shared fixtures: a real Redis and, for tests over HTTP, a real API and `celery worker`."""

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from docqueue.auth import Scope
from docqueue.redis_url import resolve_redis_url
from docqueue_devstack.redis_server import RedisServer
from docqueue_devstack.stack import Stack
from tests.support.keys import tenant_key

# Settings that keep the suite quick without changing what is tested: stopping a worker waits its
# soft shutdown, and a small progress interval makes progress visible on small documents.
TEST_ENV = {
    "DOCQUEUE_WORKER_SOFT_SHUTDOWN_TIMEOUT_S": "2",
    "DOCQUEUE_PROGRESS_INTERVAL_S": "0.05",
    "DOCQUEUE_LOG_FORMAT": "json",
    # Tests poll in tight loops; the per-tenant rate limit stays on, high enough not to interfere
    # (tests/hostile/test_tenancy.py proves the 429 with a low one).
    "DOCQUEUE_RATE_LIMIT_PER_S": "1000",
    "DOCQUEUE_RATE_LIMIT_BURST": "1000",
    # The suites' documents are read whole, as the tests of progress, limits and faults expect;
    # tests/worker/test_parts.py and tests/faults/test_part_faults.py turn splitting on.
    "DOCQUEUE_SPLIT_MIN_PAGES": "0",
}


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """DOCQUEUE_REDIS_URL or REDIS_URL when given (docqueue.redis_url); otherwise a redis-server of
    our own on a free port."""
    given = resolve_redis_url()
    if given.variable:
        yield given.url
        return
    with RedisServer(tmp_path_factory.mktemp("redis"), appendonly=False).start() as server:
        yield server.url


@pytest.fixture(scope="session")
def redis_client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url)


@pytest.fixture(scope="session")
def stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(redis_url=redis_url, run_dir=tmp_path_factory.mktemp("stack"), env=TEST_ENV)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def api_url(stack: Stack) -> str:
    _, url = stack.start_api()
    stack.start_worker(concurrency=2)
    return url


KeyMaker = Callable[..., str]


@pytest.fixture(scope="session")
def make_key(redis_client: redis.Redis) -> KeyMaker:
    """A new API key; each call without a tenant gets a tenant of its own."""

    def make(tenant: str | None = None, scopes: set[Scope] | None = None) -> str:
        return tenant_key(redis_client, tenant, scopes)

    return make


@pytest.fixture
def api(api_url: str, make_key: KeyMaker) -> Iterator[httpx.Client]:
    """An HTTP client for the running API, authenticated as a fresh tenant."""
    with httpx.Client(
        base_url=api_url, headers={"Authorization": f"Bearer {make_key()}"}, timeout=30
    ) as client:
        yield client


@pytest.fixture
def tmp_file(tmp_path: Path) -> Callable[[str, bytes], Path]:
    def write(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write
