"""GET /v1/tasks/{task_id}/events against a running API, a real Redis and a real worker.

Most tests hold a job in the store with no message queued and move it by hand through the same
scripts the worker uses, so every change, and its order, is known exactly."""

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import redis

from docqueue.jobs import keys
from docqueue_devstack.processes import wait_until
from docqueue_devstack.stack import Stack
from tests.conftest import KeyMaker
from tests.support.documents import make_pdf
from tests.support.held_jobs import hold_job, move, run
from tests.support.http import submit
from tests.support.sse import events, frames

MAX_STREAMS = 4
MAX_STREAM_S = 3.0
SSE_ENV = {
    "DOCQUEUE_SSE_HEARTBEAT_S": "1.0",
    "DOCQUEUE_SSE_MAX_STREAMS": str(MAX_STREAMS),
    "DOCQUEUE_SSE_MAX_STREAM_S": str(MAX_STREAM_S),
}


@pytest.fixture(scope="module")
def sse_url(stack: Stack, api_url: str) -> Iterator[str]:
    """An API of its own with a short heartbeat, a low stream cap and a short stream lifetime;
    `api_url` starts the shared worker."""
    process, url = stack.start_api(env=SSE_ENV)
    yield url
    process.stop()


def stream(client: httpx.Client, task_id: str, last_event_id: str | None = None) -> Any:
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    return client.stream("GET", f"/v1/tasks/{task_id}/events", headers=headers)


def stream_ids(redis_client: redis.Redis, task_id: str) -> list[str]:
    entries: Any = redis_client.xrange(keys.job_events(task_id))
    return [entry_id.decode() for entry_id, _ in entries]


@pytest.fixture
def tenant_client(sse_url: str, make_key: KeyMaker) -> Iterator[Callable[[str], httpx.Client]]:
    clients: list[httpx.Client] = []

    def make(tenant: str) -> httpx.Client:
        client = httpx.Client(
            base_url=sse_url, headers={"Authorization": f"Bearer {make_key(tenant)}"}, timeout=10
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_state_first_then_every_change_in_order_then_closed(
    tenant_client: Callable[[str], httpx.Client], redis_url: str, redis_client: redis.Redis
) -> None:
    client = tenant_client("t-sse-order")
    job = hold_job(redis_url, "t-sse-order")
    with stream(client, job.task_id) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-accel-buffering"] == "no"
        assert response.headers["cache-control"] == "no-cache"
        received = events(response)
        first = next(received)
        assert (first.event, first.data and first.data["state"]) == ("task", "queued")
        assert first.retry is not None  # tells browsers how soon to reconnect
        seen = [first]
        run(redis_client, job.task_id, pages_total=3)
        seen.append(next(received))
        for page in (1, 2, 3):
            move(redis_client, job.task_id, pages_done=page)
            seen.append(next(received))
        move(redis_client, job.task_id, stage="chunking")
        seen.append(next(received))
        move(redis_client, job.task_id, terminal=True, state="succeeded", stage="done", finished_at=1.0)
        seen.append(next(received))
        started = time.monotonic()
        assert list(received) == []  # the server closed the stream after the terminal event
        assert time.monotonic() - started < 2
    states = [(f.data["state"], f.data["stage"], f.data["progress"]["pages_done"]) for f in seen if f.data]
    assert states == [
        ("queued", "queued", 0),
        ("running", "extracting", 0),
        ("running", "extracting", 1),
        ("running", "extracting", 2),
        ("running", "extracting", 3),
        ("running", "chunking", 3),
        ("succeeded", "done", 3),
    ]
    last = seen[-1].data
    assert last is not None
    assert last["progress"]["percent"] == 100.0
    assert last["result_url"].endswith(f"/v1/tasks/{job.task_id}/result")
    assert last["events_url"].endswith(f"/v1/tasks/{job.task_id}/events")
    # A queued job has no stream yet (it starts with the first change): its state is sent under
    # the id before every entry. Every later event id is the job's stream id, in order: exactly
    # the stream's entries.
    assert seen[0].id == "0-0"
    assert [f.id for f in seen[1:]] == stream_ids(redis_client, job.task_id)


def test_resume_with_last_event_id_loses_nothing_and_repeats_nothing(
    tenant_client: Callable[[str], httpx.Client], redis_url: str, redis_client: redis.Redis
) -> None:
    client = tenant_client("t-sse-resume")
    job = hold_job(redis_url, "t-sse-resume")
    with stream(client, job.task_id) as response:
        received = events(response)
        next(received)
        run(redis_client, job.task_id, pages_total=2)
        last_seen = next(received).id
    # Disconnected: the job goes on, and ends, while nobody listens.
    move(redis_client, job.task_id, pages_done=1)
    move(redis_client, job.task_id, pages_done=2)
    move(redis_client, job.task_id, terminal=True, state="failed", error_code="corrupt_document",
         error_message="broken", finished_at=time.time())  # fmt: skip
    ids = stream_ids(redis_client, job.task_id)
    assert last_seen is not None
    with stream(client, job.task_id, last_event_id=last_seen) as response:
        missed = list(events(response))
    assert [f.id for f in missed] == ids[ids.index(last_seen) + 1 :]
    final = missed[-1].data
    assert final is not None
    assert final["state"] == "failed"
    assert final["error"] == {"code": "corrupt_document", "message": "broken", "retryable": False}

    # Resuming after the terminal event: nothing more to send, the stream closes at once (not
    # after a heartbeat's wait).
    started = time.monotonic()
    with stream(client, job.task_id, last_event_id=ids[-1]) as response:
        assert response.status_code == 200
        assert list(events(response)) == []
    assert time.monotonic() - started < 0.8
    # A fresh stream of an ended task: its final state, then closed.
    with stream(client, job.task_id) as response:
        only = list(events(response))
    assert [(f.id, f.data and f.data["state"]) for f in only] == [(ids[-1], "failed")]


def test_heartbeat_comments_keep_an_idle_stream_alive(
    tenant_client: Callable[[str], httpx.Client], redis_url: str
) -> None:
    client = tenant_client("t-sse-heartbeat")
    job = hold_job(redis_url, "t-sse-heartbeat")
    heartbeats = 0
    started = time.monotonic()
    with stream(client, job.task_id) as response:
        for frame in frames(response):
            if frame.comment is not None:
                assert frame.comment == "heartbeat"
                heartbeats += 1
            if time.monotonic() - started > 2.6:
                break
    assert heartbeats >= 2  # every second here (DOCQUEUE_SSE_HEARTBEAT_S)


def test_a_stream_ends_after_its_lifetime_and_resumes_from_where_it_was(
    tenant_client: Callable[[str], httpx.Client], redis_url: str, redis_client: redis.Redis
) -> None:
    client = tenant_client("t-sse-lifetime")
    job = hold_job(redis_url, "t-sse-lifetime")
    started = time.monotonic()
    with stream(client, job.task_id) as response:
        first = list(events(response))
    assert MAX_STREAM_S - 0.5 < time.monotonic() - started < MAX_STREAM_S + 2
    assert [f.data and f.data["state"] for f in first] == ["queued"]
    move(redis_client, job.task_id, terminal=True, state="cancelled", finished_at=time.time())
    with stream(client, job.task_id, last_event_id=first[-1].id) as response:
        rest = list(events(response))
    assert [f.data and f.data["state"] for f in rest] == ["cancelled"]


def test_another_tenants_task_is_the_same_404_as_a_missing_one(
    tenant_client: Callable[[str], httpx.Client], redis_url: str, sse_url: str
) -> None:
    owner = tenant_client("t-sse-owner")
    stranger = tenant_client("t-sse-stranger")
    job = hold_job(redis_url, "t-sse-owner")
    with stream(owner, job.task_id) as response:
        assert response.status_code == 200
    answers = []
    for task_id in (job.task_id, "0" * 32, "not-an-id"):
        response = stranger.get(f"/v1/tasks/{task_id}/events")
        body = response.json()
        answers.append((response.status_code, response.headers["content-type"], body["code"], body["detail"]))
    assert len(set(answers)) == 1
    assert answers[0][:3] == (404, "application/problem+json", "task_not_found")
    assert stranger.get(f"/v1/tasks/{job.task_id}").status_code == 404
    anonymous = httpx.get(f"{sse_url}/v1/tasks/{job.task_id}/events", timeout=10)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")


def test_a_malformed_last_event_id_is_refused(
    tenant_client: Callable[[str], httpx.Client], redis_url: str
) -> None:
    client = tenant_client("t-sse-bad-id")
    job = hold_job(redis_url, "t-sse-bad-id")
    response = client.get(f"/v1/tasks/{job.task_id}/events", headers={"Last-Event-ID": "yesterday"})
    assert (response.status_code, response.json()["code"]) == (400, "invalid_last_event_id")


def open_streams(sse_url: str) -> float:
    for line in httpx.get(f"{sse_url}/metrics", timeout=5).text.splitlines():
        if line.startswith("docqueue_sse_connections "):
            return float(line.split()[1])
    raise AssertionError("docqueue_sse_connections is not exported")


def test_open_streams_are_capped_per_process(
    tenant_client: Callable[[str], httpx.Client], redis_url: str, sse_url: str
) -> None:
    client = tenant_client("t-sse-cap")
    job = hold_job(redis_url, "t-sse-cap")
    assert wait_until(lambda: open_streams(sse_url) == 0, timeout_s=5)
    held = [stream(client, job.task_id) for _ in range(MAX_STREAMS)]
    try:
        for context in held:
            assert context.__enter__().status_code == 200
        assert open_streams(sse_url) == MAX_STREAMS
        refused = client.get(f"/v1/tasks/{job.task_id}/events")
        assert refused.status_code == 503
        assert refused.json()["code"] == "too_many_streams"
        assert refused.headers["retry-after"] == "5"
    finally:
        for context in held:
            context.__exit__(None, None, None)
    # A closed stream gives its slot back.
    assert wait_until(lambda: open_streams(sse_url) == 0, timeout_s=5)
    with stream(client, job.task_id) as response:
        assert response.status_code == 200


def test_a_real_document_streams_its_progress_until_it_succeeds(
    sse_url: str, make_key: KeyMaker, redis_client: redis.Redis
) -> None:
    auth = {"Authorization": f"Bearer {make_key()}"}
    with httpx.Client(base_url=sse_url, headers=auth, timeout=30) as client:
        task_id = submit(client, make_pdf(80))
        status = client.get(f"/v1/tasks/{task_id}").json()
        assert status["events_url"] == f"{sse_url}/v1/tasks/{task_id}/events"
        with stream(client, task_id) as response:
            seen = list(events(response))
    ids = stream_ids(redis_client, task_id)
    if seen[0].id == "0-0":  # still queued when the stream opened: every change follows
        assert [f.id for f in seen[1:]] == ids
    else:
        assert [f.id for f in seen] == ids[ids.index(seen[0].id or "") :]
    data = [f.data for f in seen if f.data]
    assert data[-1]["state"] == "succeeded"
    assert data[-1]["progress"] == {"pages_done": 80, "pages_total": 80, "percent": 100.0}
    assert len(data) >= 2, "no live progress seen"
    percents = [d["progress"]["percent"] for d in data]
    assert percents == sorted(percents)
