"""A stack of its own for hostile input: its own Redis database, blob dir, API and worker, so the
limits under test (small upload cap, short time limits, a rate limit) never touch other suites."""

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from docqueue.auth import Scope
from docqueue_devstack.processes import Process
from docqueue_devstack.stack import Stack
from tests.conftest import TEST_ENV
from tests.support.keys import tenant_key
from tests.support.stacks import private_stack

MIB = 1024 * 1024
# The upload cap of the hostile API: small, so "over the cap" costs little to send.
UPLOAD_CAP_BYTES = 1 * MIB
SOFT_TIME_LIMIT_S = 60
MAX_MEMORY_MB = 1024
# The worker every hostile test shares (its metrics are scanned for leaks).
HOSTILE_WORKER = "hostile-worker"

HOSTILE_ENV = {
    **TEST_ENV,
    "DOCQUEUE_MAX_UPLOAD_BYTES": str(UPLOAD_CAP_BYTES),
    "DOCQUEUE_TASK_SOFT_TIME_LIMIT_S": str(SOFT_TIME_LIMIT_S),
    "DOCQUEUE_TASK_TIME_LIMIT_S": str(SOFT_TIME_LIMIT_S + 15),
    "DOCQUEUE_MAX_MEMORY_MB": str(MAX_MEMORY_MB),
    "DOCQUEUE_MAX_PAGES": "2000",
    "DOCQUEUE_LOG_LEVEL": "INFO",
    # The hostile API keeps the production default rate limit.
    "DOCQUEUE_RATE_LIMIT_PER_S": "50",
    "DOCQUEUE_RATE_LIMIT_BURST": "100",
}


@contextmanager
def capped_stack(root: Path, env: Mapping[str, str], worker: str) -> Iterator[tuple[Stack, str, str]]:
    """A private stack on HOSTILE_ENV plus `env`, with one worker (the last process) and the key
    of a fresh tenant: (stack, api url, key)."""
    with private_stack(root, {**HOSTILE_ENV, **env}) as private:
        private.stack.start_worker(name=worker, concurrency=1)
        key = tenant_key(private.redis)
        yield private.stack, private.api_url, key


@dataclass
class HostileStack:
    stack: Stack
    redis: redis.Redis
    api_process: Process
    api_url: str
    worker: Process

    @property
    def blob_dir(self) -> Path:
        return self.stack.run_dir / "blobs"

    def key(self, tenant: str | None = None, scopes: set[Scope] | None = None) -> str:
        return tenant_key(self.redis, tenant, scopes)

    def client(self, key: str | None = None, url: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key or self.key()}"}
        return httpx.Client(base_url=url or self.api_url, headers=headers, timeout=30)

    def start_api(self, env: Mapping[str, str]) -> str:
        """Another API on the same Redis database with some settings changed; stopped with the stack."""
        _, url = self.stack.start_api(env={**HOSTILE_ENV, **env})
        return url


@pytest.fixture(scope="session")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileStack]:
    # A Redis of its own: these tests assert on every key a tenant leaves behind.
    with private_stack(tmp_path_factory.mktemp("hostile"), HOSTILE_ENV) as private:
        worker = private.stack.start_worker(name=HOSTILE_WORKER, concurrency=1)
        yield HostileStack(private.stack, private.redis, private.api, private.api_url, worker)


@pytest.fixture
def hostile_api(hostile: HostileStack) -> Iterator[httpx.Client]:
    """A client of the hostile API, authenticated as a fresh tenant with every scope."""
    with hostile.client() as client:
        yield client


KeyFactory = Callable[..., str]
