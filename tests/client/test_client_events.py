"""How the client follows a task, against scripted HTTP answers (pure unit tests): a dropped
stream is resumed with Last-Event-ID, and a server that cannot stream is polled instead."""

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from docqueue_client import AsyncClient, Client, EventsUnavailable, NotFound, TaskFailed
from docqueue_client.errors import DocqueueError, InvalidRequest, TooLarge, UnsupportedType

TASK_ID = "a" * 32
PROBLEM = "application/problem+json"


def status(state: str, pages_done: int = 0, percent: float = 0.0) -> dict[str, Any]:
    return {
        "task_id": TASK_ID,
        "state": state,
        "stage": "extracting" if state == "running" else state,
        "progress": {"pages_done": pages_done, "pages_total": 4, "percent": percent},
        "attempts": 1,
        "error": {"code": "corrupt_document", "message": "bad", "retryable": False}
        if state == "failed"
        else None,
    }


def sse(entry_id: str, body: dict[str, Any]) -> str:
    return f"event: task\nid: {entry_id}\ndata: {json.dumps(body)}\n\n"


class Script:
    """Answers per request, recording what the client sent."""

    def __init__(self, streams: list[str], polls: list[dict[str, Any]]) -> None:
        self.streams = streams
        self.polls = polls
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.endswith("/events"):
            if not self.streams:
                return httpx.Response(
                    404, json={"code": "not_found", "detail": "Not Found"}, headers={"content-type": PROBLEM}
                )
            return httpx.Response(
                200, text=self.streams.pop(0), headers={"content-type": "text/event-stream"}
            )
        if request.url.path == f"/v1/tasks/{TASK_ID}":
            return httpx.Response(200, json=self.polls.pop(0) if len(self.polls) > 1 else self.polls[0])
        return httpx.Response(
            404, json={"code": "task_not_found", "detail": "no such task"}, headers={"content-type": PROBLEM}
        )

    def last_event_ids(self) -> list[str | None]:
        return [r.headers.get("last-event-id") for r in self.requests if r.url.path.endswith("/events")]


@pytest.fixture
def dropped_then_resumed() -> Script:
    first = ": heartbeat\n\n" + sse("1-0", status("queued")) + sse("2-0", status("running", 1, 24.8))
    second = sse("3-0", status("running", 4, 99.0)) + sse("4-0", status("succeeded", 4, 100.0))
    return Script([first, second], [status("queued")])


def test_wait_resumes_a_dropped_stream_without_losing_changes(dropped_then_resumed: Script) -> None:
    seen: list[float] = []
    with Client("http://dq.test", "dq_k", transport=httpx.MockTransport(dropped_then_resumed)) as dq:
        final = dq.task(TASK_ID).wait(on_progress=lambda s: seen.append(s.percent))
    assert final.state == "succeeded"
    assert seen == [0.0, 24.8, 99.0, 100.0]
    assert dropped_then_resumed.last_event_ids() == [None, "2-0"]
    assert dropped_then_resumed.requests[0].headers["authorization"] == "Bearer dq_k"


def test_the_async_client_resumes_the_same_way(dropped_then_resumed: Script) -> None:
    seen: list[str] = []

    async def progress(s: Any) -> None:
        seen.append(s.state)

    async def main() -> Any:
        transport = httpx.MockTransport(dropped_then_resumed)
        async with AsyncClient("http://dq.test", "dq_k", transport=transport) as dq:
            return await dq.task(TASK_ID).wait(on_progress=progress)

    assert asyncio.run(main()).state == "succeeded"
    assert seen == ["queued", "running", "running", "succeeded"]
    assert dropped_then_resumed.last_event_ids() == [None, "2-0"]


def test_a_server_without_the_events_route_is_polled() -> None:
    script = Script([], [status("queued"), status("running", 2, 49.5), status("failed", 2, 49.5)])
    seen: list[str] = []
    with Client("http://dq.test", "k", transport=httpx.MockTransport(script)) as dq:
        with pytest.raises(EventsUnavailable):
            list(dq.events(TASK_ID))
        with pytest.raises(TaskFailed) as failed:
            dq.wait(
                TASK_ID, on_progress=lambda s: seen.append(s.state), raise_on_failure=True, poll_interval_s=0
            )
    assert failed.value.task.error["code"] == "corrupt_document"
    assert seen == ["queued", "running", "failed"]


def test_a_stream_that_keeps_closing_empty_falls_back_to_polling() -> None:
    script = Script([": heartbeat\n\n"] * 10, [status("succeeded", 4, 100.0)])
    with Client("http://dq.test", "k", transport=httpx.MockTransport(script)) as dq:
        assert dq.wait(TASK_ID, poll_interval_s=0).state == "succeeded"
    assert 1 < len(script.last_event_ids()) < 10


class Heartbeats(httpx.SyncByteStream):
    """An event stream that only ever says it is alive."""

    def __iter__(self) -> Iterator[bytes]:
        while True:
            time.sleep(0.02)
            yield b": heartbeat\n\n"


def test_wait_gives_up_at_its_timeout_even_while_heartbeats_arrive() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Heartbeats(), headers={"content-type": "text/event-stream"})

    started = time.monotonic()
    dq = Client("http://dq.test", "k", transport=httpx.MockTransport(handler))
    with dq, pytest.raises(TimeoutError):
        dq.wait(TASK_ID, timeout_s=0.3)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("status_code", "code", "error"),
    [(404, "task_not_found", NotFound), (413, "payload_too_large", TooLarge),
     (415, "unsupported_media_type", UnsupportedType), (422, "invalid_callback_url", InvalidRequest)],
)  # fmt: skip
def test_problem_documents_become_typed_errors(status_code: int, code: str, error: type[Exception]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"type": f"urn:docqueue:problem:{code}", "status": status_code, "code": code, "detail": "no"}
        return httpx.Response(status_code, json=body, headers={"content-type": PROBLEM})

    dq = Client("http://dq.test", "k", transport=httpx.MockTransport(handler))
    with dq, pytest.raises(DocqueueError) as raised:
        dq.get(TASK_ID)
    assert type(raised.value) is error
    assert raised.value.code == code
