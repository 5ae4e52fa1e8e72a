"""The job store over a synchronous Redis client: used by workers and beat."""

import json
from typing import Any

import redis

from docqueue.jobs import batches, commands, keys, parts, scripts
from docqueue.jobs.commands import Update, UpdateResult
from docqueue.jobs.model import Job
from docqueue.jobs.parts import Part, PartRange, PartReply
from docqueue.text import as_text


class JobStore:
    """Reads and atomically updates job records (see `commands.Update` for the CAS rules)."""

    def __init__(self, client: redis.Redis, retention_s: int) -> None:
        self.redis = client
        self.retention_s = retention_s
        self._update = client.register_script(scripts.UPDATE_JOB)
        self._delete = client.register_script(scripts.DELETE_JOB)
        self._split = client.register_script(parts.SPLIT_JOB)
        self._update_part = client.register_script(parts.UPDATE_PART)
        self._close_batch = client.register_script(batches.CLOSE_ABANDONED_BATCH)

    def get(self, task_id: str) -> Job | None:
        raw = self.redis.hgetall(keys.job(task_id))
        return Job.from_redis(raw) if raw else None

    def states(self, task_ids: list[str]) -> dict[str, str | None]:
        """Each job's state, or None when it no longer exists."""
        pipe = self.redis.pipeline(transaction=False)
        for task_id in task_ids:
            pipe.hget(keys.job(task_id), "state")
        return {
            task_id: None if state is None else as_text(state)
            for task_id, state in zip(task_ids, pipe.execute(), strict=True)
        }

    def update(self, update: Update) -> UpdateResult:
        reply = self._update(keys=commands.update_keys(update.task_id), args=update.args(self.retention_s))
        return UpdateResult.parse(reply)

    def delete(self, job: Job) -> None:
        self._delete(keys=commands.delete_keys(job), args=[job.task_id])

    def split(
        self, task_id: str, run_id: str, ranges: list[PartRange], now: float, reset_attempts: bool = False
    ) -> list[int] | None:
        """Split a job running under `run_id` into `ranges`: the indexes of the parts to publish
        (stored ones are kept), or None when the run no longer holds the job."""
        args = parts.split_args(run_id, ranges, now, self.retention_s, reset_attempts)
        status, body = (as_text(item) for item in self._split(keys=parts.part_keys(task_id), args=args))
        return [int(index) for index in json.loads(body)] if status == "ok" else None

    def parts(self, task_id: str) -> list[Part]:
        """A split job's parts in order (none for a job that was never split)."""
        raw: dict[Any, Any] = self.redis.hgetall(keys.job_parts(task_id))
        found = [Part.parse(int(as_text(index)), value) for index, value in raw.items()]
        return sorted(found, key=lambda part: part.index)

    def part(self, task_id: str, index: int) -> Part | None:
        raw = self.redis.hget(keys.job_parts(task_id), str(index))
        return Part.parse(index, raw) if raw is not None else None

    def update_part(
        self, op: str, task_id: str, run_id: str, index: int, claim: str, now: float, **extra: Any
    ) -> PartReply:
        """One compare-and-set on a part (see docqueue.jobs.parts.UPDATE_PART)."""
        reply = self._update_part(
            keys=parts.part_keys(task_id), args=parts.part_args(op, run_id, index, claim, now, **extra)
        )
        return parts.parse_reply(index, reply)

    def abandoned_batches(self, before: float, count: int) -> list[str]:
        """Batches whose members were still being created at `before` (and are still)."""
        found: list[Any] = self.redis.zrangebyscore(keys.BATCHES_CREATING, "-inf", before, start=0, num=count)
        return [as_text(batch_id) for batch_id in found]

    def close_abandoned_batch(self, batch_id: str, now: float) -> str:
        """Close a batch on the members it has (CLOSE_ABANDONED_BATCH): `closed`, `ended` (its
        webhook is due), `deleted` (it had none), or '' (it was complete, or is gone)."""
        outcome, *rest = (as_text(part) for part in self._close_batch(args=[batch_id, repr(now)]))
        if outcome == "deleted":
            self.redis.zrem(keys.tenant_batches(rest[0]), batch_id)
        return outcome
