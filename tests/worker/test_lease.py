"""A run's lease gathers progress and writes it together: few job writes, nothing lost."""

import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from celery.exceptions import SoftTimeLimitExceeded

from docqueue.errors import JobCancelled
from docqueue.jobs import keys
from docqueue.jobs.commands import Update
from docqueue.jobs.model import JobState, Stage
from docqueue.jobs.store import JobStore
from docqueue_worker.lease import RunLease
from tests.support.held_jobs import RETENTION_S, hold_job, move


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Claimed:
    """A job claimed by a run, as the processor leaves it before the lease starts."""

    task_id: str
    run_id: str
    jobs: JobStore
    clock: Clock

    def lease(self, **kwargs: Any) -> RunLease:
        options: dict[str, Any] = {"interval_s": 0.25, "heartbeat_s": 60, "clock": self.clock, **kwargs}
        return RunLease(self.jobs, self.task_id, self.run_id, **options)


@pytest.fixture
def run(redis_url: str, redis_client: redis.Redis) -> Claimed:
    job = hold_job(redis_url, "t-lease")
    run_id = uuid.uuid4().hex
    move(redis_client, job.task_id, state=JobState.RUNNING, stage=Stage.EXTRACTING, run_id=run_id)
    return Claimed(job.task_id, run_id, JobStore(redis_client, RETENTION_S), Clock())


def events(client: redis.Redis, task_id: str) -> int:
    return int(client.xlen(keys.job_events(task_id)))


def succeed(lease: RunLease, task_id: str) -> None:
    done = lease.finish(
        Update(
            task_id=task_id,
            now=time.time(),
            set={"state": JobState.SUCCEEDED, "stage": Stage.DONE},
            terminal=True,
        )
    )
    assert done.ok


def test_a_quick_run_writes_only_its_end_which_carries_all_progress(
    run: Claimed, redis_client: redis.Redis
) -> None:
    before = events(redis_client, run.task_id)
    with run.lease() as lease:
        lease.stage(Stage.EXTRACTING, pages_total=3)
        for page in (1, 2, 3):
            run.clock.now += 0.01
            lease.page_done(page)
        lease.stage(Stage.CHUNKING)
        lease.stage(Stage.STORING)
        assert events(redis_client, run.task_id) == before  # all within one interval: gathered
        succeed(lease, run.task_id)
    assert events(redis_client, run.task_id) == before + 1
    job = run.jobs.get(run.task_id)
    assert job is not None
    assert (job.state, job.stage, job.pages_done, job.pages_total) == (JobState.SUCCEEDED, Stage.DONE, 3, 3)


def test_a_long_run_writes_its_progress_once_per_interval(run: Claimed, redis_client: redis.Redis) -> None:
    before = events(redis_client, run.task_id)
    with run.lease() as lease:
        lease.stage(Stage.EXTRACTING, pages_total=100)
        for page in range(1, 101):
            run.clock.now += 0.05  # five pages per interval
            lease.page_done(page)
            if page == 10:
                seen = run.jobs.get(run.task_id)
                assert seen is not None
                # Written within an interval (five pages) of each page.
                assert seen.pages_total == 100
                assert 5 <= seen.pages_done <= 10
        writes = events(redis_client, run.task_id) - before
        assert 15 <= writes <= 25, writes
        succeed(lease, run.task_id)
    job = run.jobs.get(run.task_id)
    assert job is not None
    assert job.pages_done == 100


def test_the_heartbeat_writes_what_is_gathered_when_a_page_takes_long(run: Claimed) -> None:
    with run.lease(interval_s=60, heartbeat_s=0.05, clock=time.time) as lease:
        lease.stage(Stage.EXTRACTING, pages_total=7)
        deadline = time.monotonic() + 10
        while (job := run.jobs.get(run.task_id)) is not None and job.pages_total != 7:
            assert time.monotonic() < deadline, "the heartbeat never wrote the gathered stage"
            time.sleep(0.02)
        succeed(lease, run.task_id)


def test_a_cancelled_job_stops_the_run_at_its_next_report(run: Claimed, redis_client: redis.Redis) -> None:
    with run.lease() as lease:
        lease.stage(Stage.EXTRACTING, pages_total=2)
        move(redis_client, run.task_id, terminal=True, state=JobState.CANCELLED)
        run.clock.now += 1
        with pytest.raises(JobCancelled):
            lease.page_done(1)


def test_past_the_soft_time_limit_the_next_page_ends_the_run_even_if_the_signal_was_swallowed(
    run: Claimed,
) -> None:
    """Celery raises SoftTimeLimitExceeded once, inside whatever runs; pypdf's `except Exception`
    can eat it. The lease raises it again at the next page."""
    with run.lease(deadline=run.clock.now + 2) as lease:
        lease.page_done(1)
        run.clock.now += 2
        with pytest.raises(SoftTimeLimitExceeded):
            lease.page_done(2)
