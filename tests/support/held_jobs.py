"""Jobs written straight into the job store, with no message queued: they stay where a test puts
them, and move only when the test moves them, through the same scripts the worker uses."""

import asyncio
import time
import uuid
from typing import Any

import redis
import redis.asyncio as aioredis

from docqueue.jobs.async_store import AsyncJobStore
from docqueue.jobs.commands import Update
from docqueue.jobs.model import Job, JobOptions, JobState
from docqueue.jobs.store import JobStore

RETENTION_S = 3600


def new_job(tenant: str, callback_url: str | None = None) -> Job:
    """A queued job's record, not stored yet."""
    now = time.time()
    task_id = uuid.uuid4().hex
    return Job(
        task_id=task_id,
        tenant=tenant,
        filename="held.pdf",
        media_type="application/pdf",
        size_bytes=1,
        sha256=uuid.uuid4().hex,
        options=JobOptions(),
        blob_key=f"uploads/{task_id}",
        created_at=now,
        updated_at=now,
        callback_url=callback_url,
    )


def hold_job(redis_url: str, tenant: str, callback_url: str | None = None) -> Job:
    """A queued job that no worker will pick up."""
    job = new_job(tenant, callback_url)

    async def create() -> None:
        client = aioredis.Redis.from_url(redis_url)
        try:
            assert await AsyncJobStore(client, RETENTION_S).create(job) is None
        finally:
            await client.aclose()

    asyncio.run(create())
    return job


def move(client: redis.Redis, task_id: str, *, terminal: bool = False, **fields: Any) -> Job:
    """One job change (and so one event), as the worker would write it."""
    result = JobStore(client, RETENTION_S).update(
        Update(task_id=task_id, now=time.time(), set=fields, terminal=terminal)
    )
    assert result.ok, result
    assert result.job is not None
    return result.job


def run(client: redis.Redis, task_id: str, pages_total: int) -> Job:
    return move(client, task_id, state=JobState.RUNNING, stage="extracting", pages_total=pages_total)
