"""A batch's counters are what its members are: after every kind of job change the job scripts
make (claim, progress, retry, end, dead letter, replay, cancel, split and parts, a duplicate member),
the counts, pages and state equal a recount from the member records. Against a real Redis."""

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
import redis
import redis.asyncio as aioredis

from docqueue.jobs import keys
from docqueue.jobs.async_store import AsyncJobStore
from docqueue.jobs.batches import Batch, BatchState
from docqueue.jobs.commands import Update
from docqueue.jobs.model import TERMINAL_STATES, Job, JobOptions, JobState
from docqueue.jobs.parts import plan
from docqueue.jobs.store import JobStore
from docqueue.text import as_text
from tests.support.stacks import empty_database

RETENTION_S = 3600
DB = 9


@pytest.fixture
def url(redis_url: str) -> Iterator[str]:
    with empty_database(redis_url, DB) as url:
        yield url


def new_job(sha: str) -> Job:
    now = time.time()
    return Job(
        task_id=uuid.uuid4().hex, tenant="t", filename="f.pdf", media_type="application/pdf", size_bytes=1,
        sha256=sha, options=JobOptions(), blob_key="b", created_at=now, updated_at=now,
    )  # fmt: skip


def create(url: str, batch: Batch, jobs: list[Job]) -> list[tuple[str | None, bool]]:
    async def run() -> list[tuple[str | None, bool]]:
        client = aioredis.from_url(url)
        store = AsyncJobStore(client, RETENTION_S)
        await store.create_batch(batch)
        created = [await store.create_member(job, batch.batch_id) for job in jobs]
        await client.aclose()
        return created

    return asyncio.run(run())


def recount(client: redis.Redis, batch_id: str) -> tuple[Counter[str], int, int]:
    ids = [as_text(member) for member in client.lrange(keys.batch_members(batch_id), 0, -1)]
    jobs = [Job.from_redis(client.hgetall(keys.job(task_id))) for task_id in ids]
    return (
        Counter(str(job.state) for job in jobs),
        sum(job.pages_done for job in jobs),
        sum(job.pages_total for job in jobs),
    )


def check(client: redis.Redis, batch_id: str) -> Batch:
    batch = Batch.from_redis(client.hgetall(keys.batch(batch_id)))
    counts, done, total = recount(client, batch_id)
    assert {str(state): n for state, n in batch.counts.items()} == dict(counts)
    assert (batch.pages_done, batch.pages_total) == (done, total)
    ended = sum(n for state, n in counts.items() if state in TERMINAL_STATES)
    assert batch.terminal == ended
    if ended == batch.total:
        expected = (
            BatchState.SUCCEEDED if counts["succeeded"] == batch.total else BatchState.COMPLETED_WITH_ERRORS
        )
        assert batch.state == expected
    else:
        assert batch.state == BatchState.RUNNING
    return batch


def test_the_counters_follow_every_kind_of_change(url: str) -> None:
    client = redis.Redis.from_url(url)
    store = JobStore(client, RETENTION_S)
    now = time.time()
    batch = Batch(
        batch_id=uuid.uuid4().hex, tenant="t", total=5, created_at=now, updated_at=now,
        callback_url="https://hooks.example.com/b", retention_s=RETENTION_S,
    )  # fmt: skip
    jobs = [new_job("a" * 64), new_job("b" * 64), new_job("c" * 64), new_job("d" * 64), new_job("a" * 64)]
    created = create(url, batch, jobs)
    # The fifth is the first's bytes again: the same task, a member twice.
    assert created[4] == (jobs[0].task_id, False)
    assert client.hget(keys.job(jobs[0].task_id), "batches") == f"{batch.batch_id},{batch.batch_id}".encode()
    check(client, batch.batch_id)
    one, two, three, four = (job.task_id for job in jobs[:4])

    def update(task_id: str, **kwargs: object) -> Job:
        result = store.update(Update(task_id=task_id, now=time.time(), **kwargs))  # type: ignore[arg-type]
        assert result.ok, result
        assert result.job is not None
        check(client, batch.batch_id)
        return result.job

    update(one, set={"state": JobState.RUNNING, "run_id": "r1", "pages_total": 10, "pages_done": 3})
    update(one, set={"pages_done": 7}, event=False)
    update(two, set={"state": JobState.RUNNING, "run_id": "r2", "pages_total": 4})
    update(two, set={"state": JobState.RETRYING}, history={"event": "retrying"})
    update(two, set={"state": JobState.RUNNING, "pages_done": 4})
    update(two, set={"state": JobState.SUCCEEDED, "finished_at": time.time()}, terminal=True)
    update(three, set={"state": JobState.CANCELLED, "finished_at": time.time()}, terminal=True)
    # A large document split into parts: pages counted as the parts report them.
    update(four, set={"state": JobState.RUNNING, "run_id": "split"})
    assert store.split(four, "split", plan(130, 64), time.time()) == [0, 1, 2]
    check(client, batch.batch_id)
    for index in (0, 1):
        claim = uuid.uuid4().hex
        assert store.update_part("claim", four, "split", index, claim, time.time(), holder="h:1").ok
        assert store.update_part("progress", four, "split", index, claim, time.time(), pages_done=10).ok
        check(client, batch.batch_id)
        assert store.update_part("store", four, "split", index, claim, time.time(), key=f"k{index}").ok
        check(client, batch.batch_id)
    dead = update(
        four,
        set={"state": JobState.DEAD_LETTERED, "error_code": "worker_lost", "finished_at": time.time()},
        terminal=True,
        dead_letter={"task_name": "documents.process"},
    )
    assert dead.ended_batches is None  # the first member still runs
    # The last running member ends: this change ends the batch, and says so.
    ended = update(one, set={"state": JobState.SUCCEEDED, "pages_done": 10}, terminal=True)
    assert ended.ended_batches == batch.batch_id
    finished = check(client, batch.batch_id)
    assert finished.state == BatchState.COMPLETED_WITH_ERRORS
    assert finished.ended_at is not None
    # A replay reopens it; the replayed member's end ends it again, and is named again.
    update(four, from_states={JobState.DEAD_LETTERED}, set={"state": JobState.QUEUED})
    assert Batch.from_redis(client.hgetall(keys.batch(batch.batch_id))).ended_at is None
    update(four, set={"state": JobState.RUNNING, "run_id": "again"})
    again = update(four, set={"state": JobState.SUCCEEDED, "pages_done": 130}, terminal=True)
    assert again.ended_batches == batch.batch_id
    assert client.xlen(keys.batch_events(batch.batch_id)) > 10
    # Ended: the batch keeps its retention from now, its events and members with it.
    assert 0 < client.ttl(keys.batch(batch.batch_id)) <= RETENTION_S
    assert client.pttl(keys.batch_events(batch.batch_id)) <= client.pttl(keys.batch(batch.batch_id))


def test_a_batch_whose_members_all_finished_before_ends_as_it_is_created(url: str) -> None:
    client = redis.Redis.from_url(url)
    store = JobStore(client, RETENTION_S)
    done = new_job("e" * 64)
    now = time.time()
    create(url, Batch(batch_id=uuid.uuid4().hex, tenant="t", total=1, created_at=now, updated_at=now,
                      retention_s=RETENTION_S), [done])  # fmt: skip
    store.update(
        Update(task_id=done.task_id, now=time.time(), set={"state": JobState.SUCCEEDED}, terminal=True)
    )
    batch = Batch(
        batch_id=uuid.uuid4().hex, tenant="t", total=1, created_at=now, updated_at=now,
        callback_url="https://hooks.example.com/b", retention_s=RETENTION_S,
    )  # fmt: skip
    [(existing, ended)] = create(url, batch, [new_job("e" * 64)])
    assert (existing, ended) == (done.task_id, True)
    assert check(client, batch.batch_id).state == BatchState.SUCCEEDED


def test_a_batch_whose_creation_was_abandoned_is_closed_on_the_members_it_has(url: str) -> None:
    """The API's request failed after some members were created (it answered 503): beat closes the
    batch on them (CLOSE_ABANDONED_BATCH), so it ends when they end instead of running until it
    expires; one with no member is deleted; a complete one is left alone."""
    client = redis.Redis.from_url(url)
    store = JobStore(client, RETENTION_S)
    now = time.time()

    def batch_of(total: int, callback_url: str | None = None) -> Batch:
        return Batch(
            batch_id=uuid.uuid4().hex, tenant="t", total=total, created_at=now, updated_at=now,
            callback_url=callback_url, retention_s=RETENTION_S,
        )  # fmt: skip

    def end(task_id: str) -> None:
        assert store.update(
            Update(task_id=task_id, now=time.time(), set={"state": JobState.FAILED}, terminal=True)
        ).ok

    running_members, ended_members = [new_job("1" * 64), new_job("2" * 64)], [new_job("3" * 64)]
    still_running, all_ended = batch_of(3), batch_of(2, callback_url="https://hooks.example.com/b")
    empty, complete = batch_of(4), batch_of(1)
    create(url, still_running, running_members)
    create(url, all_ended, ended_members)
    end(ended_members[0].task_id)
    create(url, empty, [])
    create(url, complete, [new_job("4" * 64)])
    creating = {as_text(batch_id) for batch_id in client.zrange(keys.BATCHES_CREATING, 0, -1)}
    assert creating == {still_running.batch_id, all_ended.batch_id, empty.batch_id}  # complete left

    assert store.abandoned_batches(now - 1, 100) == []  # too young
    assert sorted(store.abandoned_batches(now + 1, 100)) == sorted(creating)
    assert store.close_abandoned_batch(still_running.batch_id, time.time()) == "closed"
    assert store.close_abandoned_batch(all_ended.batch_id, time.time()) == "ended"
    assert store.close_abandoned_batch(empty.batch_id, time.time()) == "deleted"
    assert store.close_abandoned_batch(complete.batch_id, time.time()) == ""
    assert client.zcard(keys.BATCHES_CREATING) == 0

    assert check(client, still_running.batch_id).total == 2
    assert check(client, still_running.batch_id).state == BatchState.RUNNING
    end(running_members[0].task_id)
    end(running_members[1].task_id)
    assert check(client, still_running.batch_id).state == BatchState.COMPLETED_WITH_ERRORS
    closed = check(client, all_ended.batch_id)
    assert (closed.total, closed.state) == (1, BatchState.COMPLETED_WITH_ERRORS)
    assert client.zscore(keys.WEBHOOKS_DUE, f"webhook:batch:{all_ended.batch_id}") is not None
    assert not client.exists(keys.batch(empty.batch_id))
    assert client.zscore(keys.tenant_batches("t"), empty.batch_id) is None
    # A member the abandoned request still adds after the close stays a task of its own.
    late = new_job("5" * 64)
    assert create(url, still_running, [late]) == [(None, False)]
    assert client.hget(keys.job(late.task_id), "batches") is None
    assert client.llen(keys.batch_members(still_running.batch_id)) == 2
    assert check(client, still_running.batch_id).created == 2
