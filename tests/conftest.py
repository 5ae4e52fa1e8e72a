"""Shared fixtures: a real Redis and, for tests over HTTP, a real API and `celery worker`."""

import secrets
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
from tests.support.s3_server import S3_ENV, create_bucket, moto_s3_server
from tests.support.source_server import SOURCE_ENV, SourceServer, running_source_server
from tests.support.stacks import DatabaseStack, database_stack

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


# An API and its workers that may fetch `source_url`s from the suite's source server (127.0.0.2,
# tests/support/source_server.py) and from moto's S3, with limits small enough to reach in a test,
# and that sign webhooks; on a Redis database of their own.
FETCHING_DB = 8
FETCHING_SECRET = secrets.token_urlsafe(32)
FETCHING_S3_BUCKET = "source-documents"
FETCHING_ENV = {
    **TEST_ENV,
    **SOURCE_ENV,
    "DOCQUEUE_SOURCE_MAX_FETCH_S": "3",
    "DOCQUEUE_SOURCE_TIMEOUT_S": "2",
    "DOCQUEUE_SOURCE_MAX_REDIRECTS": "3",
    "DOCQUEUE_SOURCE_S3_BUCKETS": FETCHING_S3_BUCKET,
    "DOCQUEUE_MAX_UPLOAD_BYTES": str(4 * 1024 * 1024),
    "DOCQUEUE_MAX_BATCH_BYTES": str(8 * 1024 * 1024),
    "DOCQUEUE_MAX_RETRIES": "2",
    "DOCQUEUE_RETRY_BACKOFF_BASE_S": "0.2",
    "DOCQUEUE_WEBHOOK_SECRET": FETCHING_SECRET,
    # The test's webhook receiver listens on loopback over plain http: allowed here only.
    "DOCQUEUE_WEBHOOK_ALLOW_PRIVATE": "true",
    "DOCQUEUE_WEBHOOK_ALLOW_HTTP": "true",
}


@pytest.fixture(scope="session")
def source_server() -> Iterator[SourceServer]:
    with running_source_server() as server:
        yield server


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_s3_server(tmp_path_factory.mktemp("moto")) as endpoint:
        create_bucket(endpoint, FETCHING_S3_BUCKET)
        create_bucket(endpoint, "another-bucket")
        yield endpoint


@pytest.fixture(scope="session")
def fetching(
    redis_url: str, s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DatabaseStack]:
    env = {**FETCHING_ENV, **S3_ENV, "AWS_ENDPOINT_URL_S3": s3_endpoint}
    with database_stack(redis_url, FETCHING_DB, tmp_path_factory.mktemp("fetching"), env) as stack:
        yield stack
