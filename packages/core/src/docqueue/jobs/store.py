"""The job store over a synchronous Redis client: used by workers and beat."""

import redis

from docqueue.jobs import commands, keys, scripts
from docqueue.jobs.commands import Update, UpdateResult
from docqueue.jobs.model import Job
from docqueue.text import as_text


class JobStore:
    """Reads and atomically updates job records (see `commands.Update` for the CAS rules)."""

    def __init__(self, client: redis.Redis, retention_s: int) -> None:
        self.redis = client
        self.retention_s = retention_s
        self._update = client.register_script(scripts.UPDATE_JOB)
        self._delete = client.register_script(scripts.DELETE_JOB)

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
