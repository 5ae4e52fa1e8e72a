"""Reconciler and retention decisions, against a real Redis job store and blob directory."""

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from docqueue.jobs import keys
from docqueue.jobs.batches import CREATE_BATCH, Batch, BatchState, create_batch_args, create_batch_keys
from docqueue.jobs.commands import Update, create_args, create_keys
from docqueue.jobs.model import Job, JobOptions, JobState
from docqueue.jobs.scripts import CREATE_JOB
from docqueue.jobs.store import JobStore
from docqueue.names import webhook_message_id
from docqueue.settings import Settings
from docqueue.storage.file import FileBlobStore
from docqueue.text import as_text
from docqueue.webhooks import BACKOFF_MAX_S
from docqueue_beat.maintenance.broker import BrokerView, Delivery
from docqueue_beat.maintenance.reconcile import ABANDONED_BATCH_S, Reconciler
from docqueue_beat.maintenance.retention import apply_retention
from docqueue_devstack.redis_server import RedisServer

SETTINGS = Settings(max_attempts=4, max_retries=2, heartbeat_interval_s=1.0, retry_backoff_max_s=10)
GRACE_S = 30.0


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis.Redis]:
    with RedisServer(tmp_path_factory.mktemp("redis"), appendonly=False).start() as server:
        yield redis.Redis.from_url(server.url)


@pytest.fixture
def jobs(client: redis.Redis) -> JobStore:
    client.flushdb()
    return JobStore(client, retention_s=3600)


def make_job(
    jobs: JobStore, now: float, callback_url: str | None = None, batch_id: str | None = None, **fields: object
) -> Job:
    task_id = uuid.uuid4().hex
    job = Job(
        callback_url=callback_url,
        task_id=task_id,
        tenant="t",
        filename="a.pdf",
        media_type="application/pdf",
        size_bytes=1,
        sha256=uuid.uuid4().hex * 2,
        options=JobOptions(),
        blob_key=f"uploads/{task_id}",
        created_at=now,
        updated_at=now,
    )
    jobs.redis.eval(CREATE_JOB, len(create_keys(job)), *create_keys(job), *create_args(job, 3600, batch_id))
    if fields:
        jobs.update(Update(task_id=task_id, now=now, set=fields, event=False))
    fresh = jobs.get(task_id)
    assert fresh is not None
    return fresh


class Recorder:
    def __init__(self) -> None:
        self.published: list[str] = []
        self.forgotten: list[str] = []
        self.webhooks: list[str] = []

    def publish(self, job: Job) -> None:
        self.published.append(job.task_id)

    def requeue_webhook(self, message_id: str) -> bool:
        self.webhooks.append(message_id)
        return True


def reconciler(jobs: JobStore, broker: BrokerView, recorder: Recorder) -> Reconciler:
    return Reconciler(
        jobs=jobs,
        settings=SETTINGS,
        read_broker=lambda: broker,
        publish=recorder.publish,
        forget_deliveries=recorder.forgotten.extend,
        requeue_webhook=recorder.requeue_webhook,
        grace_s=GRACE_S,
    )


def test_waiting_jobs_without_a_live_message_are_requeued(jobs: JobStore) -> None:
    now = time.time()
    old = now - 120
    lost = make_job(jobs, old)
    waiting = make_job(jobs, old)
    delivered_recently = make_job(jobs, old)
    stranded = make_job(jobs, old)
    young = make_job(jobs, now - 1)
    retry_pending = make_job(jobs, old, state=JobState.RETRYING)
    broker = BrokerView(
        waiting=frozenset({waiting.task_id}),
        delivered={
            delivered_recently.task_id: now - 5,
            stranded.task_id: now - 100,  # delivered long ago and never claimed: its worker died
            retry_pending.task_id: now - 35,  # a retry countdown (up to 10 s) plus grace
        },
    )
    recorder = Recorder()
    report = reconciler(jobs, broker, recorder).run(now, batch=100)
    assert sorted(report.requeued) == sorted([lost.task_id, stranded.task_id])
    assert sorted(recorder.published) == sorted([lost.task_id, stranded.task_id])
    assert young.task_id not in report.requeued


def test_running_job_with_a_stopped_heartbeat_goes_back_to_queued(jobs: JobStore) -> None:
    now = time.time()
    dead = make_job(jobs, now - 60, state=JobState.RUNNING, run_id="r1", attempts=1)
    alive = make_job(jobs, now - 1, state=JobState.RUNNING, run_id="r2", attempts=1)
    redelivered = make_job(jobs, now - 60, state=JobState.RUNNING, run_id="r3", attempts=1)
    broker = BrokerView(waiting=frozenset(), delivered={redelivered.task_id: now - 10})
    recorder = Recorder()
    report = reconciler(jobs, broker, recorder).run(now, batch=100)
    assert report.requeued == [dead.task_id]
    requeued = jobs.get(dead.task_id)
    assert requeued is not None
    assert requeued.state == JobState.QUEUED
    assert jobs.get(alive.task_id).state == JobState.RUNNING  # type: ignore[union-attr]
    history: list[bytes] = jobs.redis.lrange(keys.job_history(dead.task_id), 0, -1)  # type: ignore[assignment]
    assert b'"requeued"' in history[-1]


def test_past_the_poison_cap_the_job_is_dead_lettered(jobs: JobStore) -> None:
    now = time.time()
    poison = make_job(jobs, now - 60, state=JobState.RUNNING, run_id="r1", attempts=SETTINGS.max_attempts)
    recorder = Recorder()
    report = reconciler(jobs, BrokerView(frozenset(), {}), recorder).run(now, batch=100)
    assert report.dead_lettered == [poison.task_id]
    assert recorder.published == []
    final = jobs.get(poison.task_id)
    assert final is not None
    assert final.state == JobState.DEAD_LETTERED
    assert final.error_code == "worker_lost"
    entries: list[Any] = jobs.redis.xrange(keys.DEAD_LETTERS)  # type: ignore[assignment]
    assert [fields[b"task_id"].decode() for _, fields in entries] == [poison.task_id]


def test_orphaned_deliveries_of_finished_jobs_are_swept(jobs: JobStore) -> None:
    now = time.time()
    done = make_job(jobs, now - 600)
    jobs.update(Update(task_id=done.task_id, now=now - 500, set={"state": JobState.SUCCEEDED}, terminal=True))
    busy = make_job(jobs, now - 600, state=JobState.RUNNING, run_id="r", attempts=1)
    jobs.update(Update(task_id=busy.task_id, now=now, set={}))  # a live heartbeat
    broker = BrokerView(
        waiting=frozenset(),
        delivered={},
        deliveries=(
            Delivery("tag-done", done.task_id, now - 400),
            Delivery("tag-gone", uuid.uuid4().hex, now - 400),
            Delivery("tag-busy", busy.task_id, now - 400),
            Delivery("tag-fresh", done.task_id, now - 1),
        ),
    )
    recorder = Recorder()
    reconciler(jobs, broker, recorder).run(now, batch=100)
    assert sorted(recorder.forgotten) == ["tag-done", "tag-gone"]


def test_a_webhook_message_is_an_orphan_only_past_its_longest_retry_wait(jobs: JobStore) -> None:
    now = time.time()
    horizon = now - 2 * SETTINGS.lease_s - GRACE_S
    broker = BrokerView(
        waiting=frozenset(),
        delivered={},
        deliveries=(
            # A retry's countdown (up to BACKOFF_MAX_S) is spent unacked in a live worker.
            Delivery("tag-waiting", webhook_message_id("task", "a"), horizon - BACKOFF_MAX_S + 10),
            Delivery("tag-dead", webhook_message_id("batch", "b"), horizon - BACKOFF_MAX_S - 10),
        ),
    )
    recorder = Recorder()
    assert reconciler(jobs, broker, recorder).run(now, batch=100).orphans_swept == 1
    assert recorder.forgotten == ["tag-dead"]


def end(jobs: JobStore, job: Job, at: float) -> Job:
    result = jobs.update(
        Update(task_id=job.task_id, now=at, set={"state": JobState.FAILED, "finished_at": at}, terminal=True)
    )
    assert result.job is not None
    return result.job


def test_a_webhook_of_the_outbox_with_no_message_is_queued_again(jobs: JobStore) -> None:
    """The process that ended the task died before it queued the webhook (or the broker failed
    the send): the outbox entry its end wrote is all that is left of it."""
    now = time.time()
    url = "https://hooks.example.com/done"
    lost, waiting, held = (end(jobs, make_job(jobs, now - 600, url), now - 300) for _ in range(3))
    young = end(jobs, make_job(jobs, now - 600, url), now - 1)  # its hand-off may be on its way
    end(jobs, make_job(jobs, now - 600), now - 300)  # no webhook: not in the outbox

    def message(job: Job) -> str:
        return webhook_message_id("task", job.task_id)

    outbox = {as_text(member) for member in jobs.redis.zrange(keys.WEBHOOKS_DUE, 0, -1)}
    assert outbox == {message(job) for job in (lost, waiting, held, young)}
    broker = BrokerView(
        waiting=frozenset({message(waiting)}),
        delivered={message(held): now - 200},  # a worker holds it (a retry's countdown)
    )
    recorder = Recorder()
    report = reconciler(jobs, broker, recorder).run(now, batch=100)
    assert report.webhooks_requeued == recorder.webhooks == [message(lost)]
    assert report.requeued == report.dead_lettered == []


def test_retention_deletes_expired_jobs_with_their_blobs(jobs: JobStore, tmp_path: Path) -> None:
    blobs = FileBlobStore(tmp_path)
    now = time.time()
    expired = make_job(jobs, now - 7200)
    kept = make_job(jobs, now)
    for job in (expired, kept):
        blobs.put(job.blob_key, b"%PDF-1.4", ttl_s=60)
        blobs.put(f"results/{job.task_id}/{'0' * 32}.json", b"{}", ttl_s=60)
    report = apply_retention(jobs, blobs, now, batch=100)
    assert report.deleted == 1
    assert jobs.get(expired.task_id) is None
    assert not jobs.redis.exists(keys.job_history(expired.task_id), keys.job_events(expired.task_id))
    assert not blobs.exists(expired.blob_key)
    assert not (tmp_path / "results" / expired.task_id).exists()
    assert jobs.get(kept.task_id) is not None
    assert blobs.exists(kept.blob_key)


def test_a_batch_abandoned_part_way_is_closed_on_its_members(jobs: JobStore) -> None:
    """The API's request failed after creating one of two members: long after, the reconciler
    closes the batch on that one; its end was the batch's, so its webhook is queued."""
    now = time.time()

    def batch_at(created_at: float, total: int) -> Batch:
        batch = Batch(
            batch_id=uuid.uuid4().hex, tenant="t", total=total, created_at=created_at, updated_at=created_at,
            callback_url="https://hooks.example.com/b", retention_s=3600,
        )  # fmt: skip
        jobs.redis.eval(CREATE_BATCH, 3, *create_batch_keys(batch), *create_batch_args(batch))
        return batch

    abandoned = batch_at(now - ABANDONED_BATCH_S - 10, total=2)
    end(jobs, make_job(jobs, now - 700, batch_id=abandoned.batch_id), now - 650)
    in_progress = batch_at(now - 5, total=2)  # its request may still be adding members
    make_job(jobs, now - 5, batch_id=in_progress.batch_id)
    recorder = Recorder()
    report = reconciler(jobs, BrokerView(frozenset(), {}), recorder).run(now, batch=100)
    assert report.batches_closed == [abandoned.batch_id]
    assert recorder.webhooks == [webhook_message_id("batch", abandoned.batch_id)]
    closed = Batch.from_redis(jobs.redis.hgetall(keys.batch(abandoned.batch_id)))
    assert (closed.total, closed.state) == (1, BatchState.COMPLETED_WITH_ERRORS)
    assert Batch.from_redis(jobs.redis.hgetall(keys.batch(in_progress.batch_id))).total == 2
