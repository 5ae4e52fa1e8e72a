"""A task cancelled while queued never runs: the API is up, no worker consumes until after."""

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from docqueue import names
from docqueue.jobs import keys
from docqueue_devstack.stack import Stack
from tests.conftest import TEST_ENV
from tests.support.documents import make_pdf
from tests.support.http import submit, wait_terminal
from tests.support.keys import tenant_key
from tests.support.stacks import private_stack


@pytest.fixture
def idle_stack(tmp_path: Path) -> Iterator[tuple[Stack, str, redis.Redis]]:
    with private_stack(tmp_path, TEST_ENV) as private:
        yield private.stack, private.api_url, private.redis


def test_queued_task_cancelled_never_runs(idle_stack: tuple[Stack, str, redis.Redis]) -> None:
    stack, url, client = idle_stack
    key = tenant_key(client, "tenant-a")
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as api:
        cancelled_id = submit(api, make_pdf(3, lambda n: f"cancel me {n}"))
        kept_id = submit(api, make_pdf(3, lambda n: f"keep me {n}"))
        assert client.llen(names.DOCUMENTS_QUEUE) == 2
        response = api.delete(f"/v1/tasks/{cancelled_id}")
        assert response.status_code == 202
        assert response.json()["state"] == "cancelled"

        stack.start_worker()
        assert wait_terminal(api, kept_id)["state"] == "succeeded"
        deadline = time.monotonic() + 10
        while client.llen(names.DOCUMENTS_QUEUE) and time.monotonic() < deadline:
            time.sleep(0.1)
        task = api.get(f"/v1/tasks/{cancelled_id}").json()
        assert task["state"] == "cancelled"
        assert task["attempts"] == 0
        assert task["started_at"] is None
        assert client.hget(keys.job(cancelled_id), "result_key") is None
        assert client.llen(names.DOCUMENTS_QUEUE) == 0
