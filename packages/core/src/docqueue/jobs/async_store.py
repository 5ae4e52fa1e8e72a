"""The job store over an asyncio Redis client: used by the API."""

from typing import Any

import redis.asyncio as aioredis

from docqueue.jobs import batches, commands, keys, scripts
from docqueue.jobs.batches import Batch
from docqueue.jobs.commands import Update, UpdateResult
from docqueue.jobs.model import Job
from docqueue.text import as_text


class AsyncJobStore:
    """Creates, reads, lists and cancels job records without blocking the event loop."""

    def __init__(self, client: "aioredis.Redis", retention_s: int) -> None:
        self.redis = client
        self.retention_s = retention_s
        self._create = client.register_script(scripts.CREATE_JOB)
        self._update = client.register_script(scripts.UPDATE_JOB)
        self._delete = client.register_script(scripts.DELETE_JOB)
        self._create_batch = client.register_script(batches.CREATE_BATCH)

    async def get(self, task_id: str) -> Job | None:
        raw = await self.redis.hgetall(keys.job(task_id))
        return Job.from_redis(raw) if raw else None

    async def create(self, job: Job) -> str | None:
        """Store `job`; return the id of an existing live job with the same fingerprint instead."""
        existing, _ = await self.create_member(job, None)
        return existing

    async def create_member(self, job: Job, batch_id: str | None) -> tuple[str | None, bool]:
        """Store `job` as a member of `batch_id` (or, a duplicate, add the existing live job with
        the same fingerprint, whose id is returned): and whether that ended the batch (every member
        already finished), so its webhook is due."""
        reply: list[Any] = await self._create(
            keys=commands.create_keys(job), args=commands.create_args(job, self.retention_s, batch_id)
        )
        status, task_id, ended = (as_text(part) for part in reply)
        return (task_id if status == "existing" else None), bool(ended)

    async def create_batch(self, batch: Batch) -> None:
        """Store a new batch with no member yet (create_member adds each)."""
        await self._create_batch(keys=batches.create_batch_keys(batch), args=batches.create_batch_args(batch))

    async def batch(self, batch_id: str) -> Batch | None:
        raw = await self.redis.hgetall(keys.batch(batch_id))
        return Batch.from_redis(raw) if raw else None

    async def batch_members(self, batch_id: str, start: int, count: int) -> list[str]:
        """Member task ids from `start` (0-based, in submission order), at most `count`."""
        ids: list[Any] = await self.redis.lrange(keys.batch_members(batch_id), start, start + count - 1)
        return [as_text(task_id) for task_id in ids]

    async def wait_for_replicas(self, task_id: str, replicas: int, timeout_ms: int) -> int:
        """How many replicas hold every write made so far, including the job's record and, on
        the same Redis, its message (waiting up to `timeout_ms` for `replicas` of them).

        Redis's `WAIT` covers the writes of the connection it runs on, up to the replication
        offset of that connection's last write; the pooled connection that runs it may have
        written nothing. So the same pipeline first rewrites the job's own id (a no-op that
        still replicates), which moves that offset past every earlier write: the record
        created before, and kombu's LPUSH of its message, sent on another connection.
        """
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(keys.job(task_id), "task_id", task_id)
            pipe.wait(replicas, timeout_ms)
            reply: list[Any] = await pipe.execute()
        return int(reply[1])

    async def update(self, update: Update) -> UpdateResult:
        reply = await self._update(
            keys=commands.update_keys(update.task_id), args=update.args(self.retention_s)
        )
        return UpdateResult.parse(reply)

    async def delete(self, job: Job) -> None:
        await self._delete(keys=commands.delete_keys(job), args=[job.task_id])

    async def page(self, tenant: str, max_score: str, count: int) -> list[tuple[str, float]]:
        """Up to `count` (task_id, created score) of a tenant, newest first, at or below max_score."""
        rows: list[Any] = await self.redis.zrevrangebyscore(
            keys.tenant_jobs(tenant), max_score, "-inf", start=0, num=count, withscores=True
        )
        return [(as_text(member), float(score)) for member, score in rows]

    async def forget(self, tenant: str, task_id: str) -> None:
        """Drop a tenant index entry whose job has expired."""
        await self.redis.zrem(keys.tenant_jobs(tenant), task_id)

    async def get_many(self, task_ids: list[str]) -> list[Job | None]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for task_id in task_ids:
                pipe.hgetall(keys.job(task_id))
            raws: list[dict[Any, Any]] = await pipe.execute()
        return [Job.from_redis(raw) if raw else None for raw in raws]
