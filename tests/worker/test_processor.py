"""A run that stored its result and died before publishing it leaves no second result behind.

The run's blob is written first and published by the job write that ends the run; Redis going
away between the two (the fault tests stop it mid-run) leaves an unpublished blob. Whichever
delivery ends the job next must delete it.
"""

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis
from celery.exceptions import SoftTimeLimitExceeded

from docqueue.errors import ErrorCode
from docqueue.jobs import keys
from docqueue.jobs.commands import Update, UpdateResult
from docqueue.jobs.model import Job, JobState, Stage
from docqueue.jobs.store import JobStore
from docqueue.settings import Settings
from docqueue.storage.base import result_key
from docqueue.storage.file import FileBlobStore
from docqueue_worker.processor import DONE, DocumentProcessor
from tests.support.documents import make_pdf
from tests.support.held_jobs import RETENTION_S, hold_job, move


@pytest.fixture
def blobs(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "blobs")


def died_after_storing(redis_url: str, client: redis.Redis, blobs: FileBlobStore, **fields: Any) -> str:
    """A running job whose run stored its result and then vanished; returns that run's id."""
    job = hold_job(redis_url, "t-unpublished")
    blobs.put(job.blob_key, make_pdf(2), ttl_s=RETENTION_S)
    dead_run = uuid.uuid4().hex
    blobs.put(result_key(job.task_id, dead_run), b'{"unpublished": true}', ttl_s=RETENTION_S)
    move(
        client,
        job.task_id,
        state=JobState.RUNNING,
        stage=Stage.STORING,
        run_id=dead_run,
        holder="another-host:1",
        **fields,
    )
    return job.task_id


def processor(redis_url: str, client: redis.Redis, blobs: FileBlobStore) -> DocumentProcessor:
    settings = Settings(redis_url=redis_url, retention_s=RETENTION_S)
    # Seen from a lease later: the dead run's lease has expired, as the reconciler would find it.
    return DocumentProcessor(
        JobStore(client, RETENTION_S), blobs, settings, clock=lambda: time.time() + settings.lease_s + 1
    )


def results(blobs: FileBlobStore, task_id: str) -> list[str]:
    return sorted(f"results/{task_id}/{p.name}" for p in (blobs.root / "results" / task_id).glob("*.json"))


def current(client: redis.Redis, task_id: str) -> Job:
    job = JobStore(client, RETENTION_S).get(task_id)
    assert job is not None
    return job


def test_the_next_run_publishes_its_result_and_deletes_the_dead_runs(
    redis_url: str, redis_client: redis.Redis, blobs: FileBlobStore
) -> None:
    task_id = died_after_storing(redis_url, redis_client, blobs)
    assert len(results(blobs, task_id)) == 1

    processor(redis_url, redis_client, blobs).process(task_id)

    job = current(redis_client, task_id)
    assert job.state == JobState.SUCCEEDED
    assert results(blobs, task_id) == [job.result_key]


def test_a_job_ended_by_the_poison_cap_keeps_no_result(
    redis_url: str, redis_client: redis.Redis, blobs: FileBlobStore
) -> None:
    task_id = died_after_storing(redis_url, redis_client, blobs, attempts=Settings().max_attempts)

    processor(redis_url, redis_client, blobs).process(task_id)

    job = current(redis_client, task_id)
    assert (job.state, job.error_code) == (JobState.DEAD_LETTERED, ErrorCode.WORKER_LOST)
    assert results(blobs, task_id) == []


class SignalWhileEnding(JobStore):
    """Celery's soft-limit signal landing in the write that ends a run, before or after it lands
    (the lease's own deadline check fired first, or a failure was handled just at the limit)."""

    def __init__(self, client: redis.Redis, after_write: bool) -> None:
        super().__init__(client, RETENTION_S)
        self.after_write = after_write
        self.signalled = False

    def update(self, update: Update) -> UpdateResult:
        if not update.terminal or self.signalled:
            return super().update(update)
        self.signalled = True
        if self.after_write:
            super().update(update)
        raise SoftTimeLimitExceeded()


@pytest.mark.parametrize(
    ("after_write", "ending"),
    [
        (False, (JobState.DEAD_LETTERED, ErrorCode.TIMEOUT)),
        (True, (JobState.FAILED, ErrorCode.CORRUPT_DOCUMENT)),
    ],
)
def test_a_soft_limit_signal_while_the_run_ends_still_ends_it_once(
    redis_url: str,
    redis_client: redis.Redis,
    blobs: FileBlobStore,
    after_write: bool,
    ending: tuple[JobState, ErrorCode],
) -> None:
    job = hold_job(redis_url, "t-signal")
    blobs.put(job.blob_key, b"%PDF-1.7\nnot a document at all", ttl_s=RETENTION_S)
    jobs = SignalWhileEnding(redis_client, after_write)
    processor = DocumentProcessor(jobs, blobs, Settings(redis_url=redis_url, retention_s=RETENTION_S))

    assert processor.process(job.task_id) == DONE  # nothing escapes to Celery

    assert jobs.signalled
    ended = current(redis_client, job.task_id)
    assert (ended.state, ended.error_code) == ending
    history = [
        json.loads(entry)["event"] for entry in redis_client.lrange(keys.job_history(job.task_id), 0, -1)
    ]
    assert history.count(str(ending[0])) == 1, history
