"""The webhook outbox (keys.WEBHOOKS_DUE): the job scripts put a task or batch in it in the very
step that ends it with a callback_url, so a webhook is never only in the memory of the process that
ended it; a final delivery attempt takes out the entry of the end it was for, and no other.
Against a real Redis."""

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from docqueue import names
from docqueue.jobs import keys
from docqueue.jobs.async_store import AsyncJobStore
from docqueue.jobs.batches import Batch
from docqueue.jobs.commands import Update
from docqueue.jobs.model import Job, JobOptions, JobState
from docqueue.jobs.store import JobStore
from docqueue.text import as_text
from docqueue.webhooks import record_attempt, settle_due, task_hook
from tests.support.stacks import empty_database

RETENTION_S = 3600
DB = 10
HOOK_URL = "https://hooks.example.com/done"


@pytest.fixture
def url(redis_url: str) -> Iterator[str]:
    with empty_database(redis_url, DB) as url:
        yield url


@pytest.fixture
def client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def new_job(callback_url: str | None = HOOK_URL) -> Job:
    now = time.time()
    return Job(
        task_id=uuid.uuid4().hex, tenant="t", filename="f.pdf", media_type="application/pdf", size_bytes=1,
        sha256=uuid.uuid4().hex * 2, options=JobOptions(), blob_key="b", created_at=now, updated_at=now,
        callback_url=callback_url,
    )  # fmt: skip


def create(url: str, jobs: list[Job], batch: Batch | None = None) -> None:
    async def run() -> None:
        aclient = aioredis.Redis.from_url(url)
        store = AsyncJobStore(aclient, RETENTION_S)
        if batch is not None:
            await store.create_batch(batch)
        for job in jobs:
            if batch is not None:
                await store.create_member(job, batch.batch_id)
            else:
                assert await store.create(job) is None
        await aclient.aclose()

    asyncio.run(run())


def outbox(client: redis.Redis) -> dict[str, float]:
    entries: list[Any] = client.zrange(keys.WEBHOOKS_DUE, 0, -1, withscores=True)
    return {as_text(member): float(score) for member, score in entries}


def end(store: JobStore, task_id: str, now: float, state: JobState = JobState.FAILED) -> Job:
    result = store.update(
        Update(task_id=task_id, now=now, set={"state": state, "finished_at": now}, terminal=True)
    )
    assert result.ok, result
    assert result.job is not None
    return result.job


def test_the_step_that_ends_a_task_with_a_webhook_puts_it_in_the_outbox(
    url: str, client: redis.Redis
) -> None:
    store = JobStore(client, RETENTION_S)
    hooked, silent = new_job(), new_job(callback_url=None)
    create(url, [hooked, silent])
    hooked_id = names.webhook_message_id("task", hooked.task_id)
    assert store.update(Update(task_id=hooked.task_id, now=time.time(), set={"state": JobState.RUNNING})).ok
    assert outbox(client) == {}  # running is no end

    ended_at = time.time()
    end(store, hooked.task_id, ended_at)
    end(store, silent.task_id, ended_at)
    assert outbox(client) == {hooked_id: pytest.approx(ended_at)}

    # A change of a task that had already ended (a result deleted) is no new end.
    client.delete(keys.WEBHOOKS_DUE)
    changed = store.update(
        Update(task_id=hooked.task_id, now=time.time(), set={"result_deleted_at": 1.0}, terminal=True)
    )
    assert changed.ok
    assert outbox(client) == {}

    # A replay runs it again: its next end is in the outbox again, with its own time.
    assert store.update(Update(task_id=hooked.task_id, now=time.time(), set={"state": JobState.QUEUED})).ok
    again = time.time() + 5
    end(store, hooked.task_id, again, JobState.SUCCEEDED)
    assert outbox(client) == {hooked_id: pytest.approx(again)}


def test_a_final_attempt_settles_only_the_end_it_was_for(url: str, client: redis.Redis) -> None:
    store = JobStore(client, RETENTION_S)
    job = new_job()
    create(url, [job])
    first = end(store, job.task_id, time.time())
    hook = task_hook(first, None)
    attempt = {"event_id": hook.event["id"], "outcome": "retrying"}
    record_attempt(client, hook, attempt, RETENTION_S, final=False)
    assert hook.message_id in outbox(client)
    record_attempt(client, hook, {**attempt, "outcome": "delivered"}, RETENTION_S, final=True)
    assert outbox(client) == {}

    # The task was replayed and ended again before the first end's delivery finished: the entry
    # is the second end's, and the first end's final attempt (or a duplicate's) leaves it.
    assert store.update(Update(task_id=job.task_id, now=time.time(), set={"state": JobState.QUEUED})).ok
    second = end(store, job.task_id, time.time() + 10)
    record_attempt(client, hook, {**attempt, "outcome": "gave_up"}, RETENTION_S, final=True)
    settle_due(client, hook)
    assert list(outbox(client)) == [hook.message_id]
    settle_due(client, task_hook(second, None))
    assert outbox(client) == {}


def test_the_step_that_ends_a_batch_with_a_webhook_puts_it_in_the_outbox(
    url: str, client: redis.Redis
) -> None:
    store = JobStore(client, RETENTION_S)

    def batch_of_two(callback_url: str | None) -> tuple[Batch, list[Job]]:
        now = time.time()
        batch = Batch(
            batch_id=uuid.uuid4().hex, tenant="t", total=2, created_at=now, updated_at=now,
            callback_url=callback_url, retention_s=RETENTION_S,
        )  # fmt: skip
        members = [new_job(callback_url=None), new_job(callback_url=None)]
        create(url, members, batch)
        return batch, members

    hooked, hooked_members = batch_of_two(HOOK_URL)
    _, silent_members = batch_of_two(None)
    end(store, hooked_members[0].task_id, time.time())
    end(store, silent_members[0].task_id, time.time())
    assert outbox(client) == {}  # one member is not the batch
    end(store, hooked_members[1].task_id, time.time(), JobState.SUCCEEDED)
    end(store, silent_members[1].task_id, time.time(), JobState.SUCCEEDED)
    assert list(outbox(client)) == [names.webhook_message_id("batch", hooked.batch_id)]
