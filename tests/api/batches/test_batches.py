"""Batches against a running API, real workers (documents and webhooks), a real source server and a
real webhook receiver: many files and URLs in one request, followed as one, ended with one webhook."""

import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from docqueue.jobs import keys
from docqueue.names import webhook_message_id
from docqueue.text import as_text
from docqueue_devstack.processes import wait_until
from tests.conftest import FETCHING_SECRET
from tests.support.documents import corrupt_pdf, make_pdf
from tests.support.http import upload, wait_terminal
from tests.support.source_server import SourceServer
from tests.support.sse import events
from tests.support.stacks import DatabaseStack
from tests.support.webhook_receiver import Receiver, running_receiver


@pytest.fixture
def client(fetching: DatabaseStack) -> Iterator[httpx.Client]:
    with fetching.client() as client:
        yield client


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver(FETCHING_SECRET) as receiver:
        yield receiver


def files(*named: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, data, "application/octet-stream")) for name, data in named]


def submit_batch(client: httpx.Client, named: list[tuple[str, bytes]], **fields: Any) -> httpx.Response:
    data = {name: value if isinstance(value, str) else json.dumps(value) for name, value in fields.items()}
    parts: list[Any] = files(*named) + [(name, (None, value)) for name, value in data.items()]
    return client.post("/v1/batches", files=parts)


def wait_ended(client: httpx.Client, batch_id: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        batch: dict[str, Any] = client.get(f"/v1/batches/{batch_id}").json()
        if batch["state"] != "running":
            return batch
        time.sleep(0.1)
    raise AssertionError(f"batch {batch_id} still running: {batch}")


def all_members(client: httpx.Client, batch_id: str, limit: int) -> list[dict[str, Any]]:
    members: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/v1/batches/{batch_id}", params=params).json()["members"]
        members += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return members


def test_files_and_urls_run_as_one_batch_with_mixed_outcomes(
    client: httpx.Client, source_server: SourceServer
) -> None:
    tag = uuid.uuid4().hex
    url = source_server.put(f"/{tag}/from-the-web.pdf", make_pdf(2, title=f"web {tag}"))
    answer = submit_batch(
        client,
        [
            ("one.pdf", make_pdf(3, title=f"one {tag}")),
            ("notes.md", f"# Notes {tag}\n\nSome text.".encode()),
            ("broken.pdf", corrupt_pdf()),
            ("program.exe", b"MZ\x90\x00" + bytes(range(256)) * 8),
            ("empty.pdf", b""),
        ],
        urls=[url],
        chunk_size=500,
        chunk_overlap=50,
    )
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert answer.headers["Location"] == accepted["status_url"]
    assert accepted["total"] == 6
    members = accepted["members"]
    assert [m["index"] for m in members] == list(range(6))
    assert [m["filename"] for m in members][:5] == [
        "one.pdf",
        "notes.md",
        "broken.pdf",
        "program.exe",
        "empty.pdf",
    ]
    assert members[5]["source_url"] == url
    # What the API can tell at once fails at once, with the code a worker would give.
    assert (members[3]["state"], members[3]["error"]["code"]) == ("failed", "unsupported_type")
    assert (members[4]["state"], members[4]["error"]["code"]) == ("failed", "empty_document")
    assert {m["state"] for m in members[:3] + members[5:]} == {"queued"}

    batch = wait_ended(client, accepted["batch_id"])
    assert batch["state"] == "completed_with_errors"
    assert batch["counts"] == {
        "queued": 0, "running": 0, "retrying": 0, "succeeded": 3, "failed": 3, "cancelled": 0,
        "dead_lettered": 0,
    }  # fmt: skip
    assert batch["progress"]["pages_done"] == batch["progress"]["pages_total"] >= 6
    assert batch["ended_at"] is not None
    assert batch["expires_at"] > batch["ended_at"]
    # Every member is an ordinary task, reachable on its own.
    listed = all_members(client, accepted["batch_id"], limit=4)
    assert [m["task_id"] for m in listed] == [m["task_id"] for m in members]
    outcomes = {m["filename"]: m["state"] for m in listed}
    assert outcomes["one.pdf"] == outcomes["notes.md"] == outcomes["from-the-web.pdf"] == "succeeded"
    assert listed[2]["error"]["code"] == "corrupt_document"
    web = client.get(listed[5]["status_url"]).json()
    assert (web["state"], web["source_url"]) == ("succeeded", url)
    result = client.get(web["result_url"]).json()
    assert result["document"]["title"] == f"web {tag}"


def test_a_batch_that_all_succeeds_sends_one_signed_webhook(
    fetching: DatabaseStack, client: httpx.Client, receiver: Receiver
) -> None:
    path = f"/batch/{uuid.uuid4().hex}"
    named = [(f"doc-{i}.pdf", make_pdf(1 + i, title=f"{path} {i}")) for i in range(3)]
    answer = submit_batch(client, named, callback_url=receiver.url(path))
    assert answer.status_code == 202, answer.text
    batch_id = answer.json()["batch_id"]
    batch = wait_ended(client, batch_id)
    assert batch["state"] == "succeeded"
    assert batch["progress"] == {"pages_done": 6, "pages_total": 6, "percent": 100.0}
    [delivery] = receiver.wait_for(path, 1)
    assert delivery.signature_ok
    event = delivery.event
    assert delivery.headers["Docqueue-Event-Type"] == event["type"] == "batch.succeeded"
    assert event["batch"]["batch_id"] == batch_id
    assert event["batch"]["counts"]["succeeded"] == 3
    wait_until(lambda: client.get(f"/v1/batches/{batch_id}").json()["callback_deliveries"], timeout_s=10)
    [attempt] = client.get(f"/v1/batches/{batch_id}").json()["callback_deliveries"]
    assert (attempt["outcome"], attempt["event_id"]) == ("delivered", event["id"])
    due = {as_text(member) for member in fetching.redis.zrange(keys.WEBHOOKS_DUE, 0, -1)}
    assert webhook_message_id("batch", batch_id) not in due  # the outbox entry went with the attempt
    time.sleep(1)
    assert len(receiver.received(path)) == 1  # one webhook for the batch, none per member


def test_the_batch_event_stream_follows_every_member_to_the_end(client: httpx.Client) -> None:
    named = [(f"s-{i}.pdf", make_pdf(2, title=f"stream {uuid.uuid4().hex}")) for i in range(3)]
    batch_id = submit_batch(client, named).json()["batch_id"]
    # From the stream's start ("0-0"), so no change is missed however fast the workers are.
    with client.stream("GET", f"/v1/batches/{batch_id}/events", headers={"Last-Event-ID": "0-0"}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        seen = list(events(response))
    assert all(frame.event == "batch" and frame.id for frame in seen)
    last = seen[-1].data
    assert last is not None
    assert last["state"] == "succeeded"
    assert last["counts"]["succeeded"] == 3
    done = [frame.data["progress"]["pages_done"] for frame in seen if frame.data]
    assert done == sorted(done)  # the sum over members only grows
    moved = {frame.data["member"]["task_id"] for frame in seen if frame.data and frame.data["member"]}
    assert len(moved) == 3
    states = [frame.data["member"]["state"] for frame in seen if frame.data and frame.data["member"]]
    assert {"running", "succeeded"} <= set(states)
    # Without Last-Event-ID the stream starts with the batch as it stands: ended, so it closes.
    with client.stream("GET", f"/v1/batches/{batch_id}/events") as response:
        [now] = list(events(response))
    assert now.data is not None
    assert now.data["state"] == "succeeded"
    # Resuming after the end's id closes at once; from the first id, the rest exactly.
    with client.stream(
        "GET", f"/v1/batches/{batch_id}/events", headers={"Last-Event-ID": seen[0].id or ""}
    ) as response:
        rest = [frame.id for frame in events(response)]
    assert rest == [frame.id for frame in seen[1:]]


def test_cancelling_a_batch_cancels_every_unfinished_member(
    client: httpx.Client, source_server: SourceServer, receiver: Receiver
) -> None:
    path = f"/cancelled/{uuid.uuid4().hex}"
    # Sources that drip: the two workers' slots fetch two, the rest wait in the queue.
    urls = [source_server.url(f"/drip?n={i}") for i in range(4)]
    answer = client.post("/v1/batches", json={"urls": urls, "callback_url": receiver.url(path)})
    assert answer.status_code == 202, answer.text
    batch_id = answer.json()["batch_id"]
    cancelled = client.delete(f"/v1/batches/{batch_id}")
    assert cancelled.status_code == 200, cancelled.text
    view = cancelled.json()
    assert view["state"] == "completed_with_errors"
    assert view["counts"]["cancelled"] == 4
    for member in answer.json()["members"]:
        assert wait_terminal(client, member["task_id"])["state"] == "cancelled"
    [delivery] = receiver.wait_for(path, 1)
    assert delivery.event["type"] == "batch.completed_with_errors"
    assert client.delete(f"/v1/batches/{batch_id}").json()["counts"]["cancelled"] == 4  # safe to repeat


def test_a_member_already_submitted_is_that_task(client: httpx.Client) -> None:
    document = make_pdf(2, title=f"known {uuid.uuid4().hex}")
    first = upload(client, document, "known.pdf", headers={"Prefer": "wait=30"})
    assert first.json()["state"] == "succeeded"
    answer = submit_batch(client, [("again.pdf", document), ("again-2.pdf", document)])
    members = answer.json()["members"]
    assert [m["task_id"] for m in members] == [first.json()["task_id"]] * 2
    assert all(m["deduplicated"] and m["state"] == "succeeded" for m in members)
    # Every member already finished: the batch ended as it was created.
    assert answer.json()["state"] == "succeeded"
    batch = client.get(answer.json()["status_url"]).json()
    assert batch["counts"]["succeeded"] == 2


def test_an_idempotency_key_gives_the_same_batch(client: httpx.Client) -> None:
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = {"urls": ["http://127.0.0.2:9/never-fetched-before-the-answer.pdf"]}
    first = client.post("/v1/batches", json=body, headers=key)
    again = client.post("/v1/batches", json=body, headers=key)
    assert first.status_code == again.status_code == 202, first.text
    assert again.json()["batch_id"] == first.json()["batch_id"]
    other = client.post("/v1/batches", json={"urls": body["urls"] * 2}, headers=key)
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")


def test_batches_are_listed_newest_first_and_private_to_their_tenant(
    client: httpx.Client, fetching: DatabaseStack
) -> None:
    ids = [
        submit_batch(client, [(f"l{i}.pdf", make_pdf(1, title=uuid.uuid4().hex))]).json()["batch_id"]
        for i in range(3)
    ]
    page = client.get("/v1/batches", params={"limit": 2}).json()
    assert [b["batch_id"] for b in page["items"]] == ids[::-1][:2]
    rest = client.get("/v1/batches", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [b["batch_id"] for b in rest["items"]] == ids[:1]
    with fetching.client() as stranger:
        for path in (f"/v1/batches/{ids[0]}", f"/v1/batches/{ids[0]}/events"):
            answer = stranger.get(path)
            assert (answer.status_code, answer.json()["code"]) == (404, "batch_not_found"), path
        assert stranger.delete(f"/v1/batches/{ids[0]}").status_code == 404
        assert stranger.get("/v1/batches").json()["items"] == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"urls": []}, "missing_file"),
        ({"urls": ["http://127.0.0.1:9/x.pdf"]}, "invalid_source_url"),
        ({"urls": "https://example.com/x.pdf"}, "validation_error"),
        ({"urls": ["https://example.com/x.pdf"], "chunk_size": 10}, "validation_error"),
        ({"urls": ["https://example.com/x.pdf"], "surprise": 1}, "validation_error"),
    ],
)
def test_a_bad_batch_is_refused_whole(client: httpx.Client, body: dict[str, Any], code: str) -> None:
    answer = client.post("/v1/batches", json=body)
    assert (answer.status_code, answer.json()["code"]) == (422, code), answer.text


def test_a_refused_url_names_its_place(client: httpx.Client, source_server: SourceServer) -> None:
    good = source_server.put(f"/{uuid.uuid4().hex}.pdf", make_pdf(1))
    answer = client.post("/v1/batches", json={"urls": [good, "https://169.254.169.254/latest"]})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["loc"] == ["body", "urls", 1]


def test_batch_limits_refuse_the_request_and_keep_nothing(
    client: httpx.Client, fetching: DatabaseStack
) -> None:
    blobs = Path(fetching.stack.run_dir) / "blobs" / "uploads"
    before = set(blobs.iterdir()) if blobs.exists() else set()
    # Each file within the upload cap (4 MiB), together over the batch cap (8 MiB).
    big = [(f"big-{i}.txt", (b"word " * 700_000)) for i in range(3)]
    too_big = submit_batch(client, big)
    assert (too_big.status_code, too_big.json()["code"]) == (413, "payload_too_large")
    one_too_big = submit_batch(client, [("huge.txt", b"word " * 900_000)])
    assert (one_too_big.status_code, one_too_big.json()["code"]) == (413, "payload_too_large")
    assert "huge.txt" in one_too_big.json()["detail"]
    after = set(blobs.iterdir()) if blobs.exists() else set()
    assert after == before


def test_ten_thousand_members_are_refused_while_streaming(
    client: httpx.Client, fetching: DatabaseStack
) -> None:
    """A multipart body of 10,000 files is cut at the first file over the member cap (1,000); a
    JSON body of 10,000 URLs is refused before any is checked. Nothing is created or kept."""
    blobs = Path(fetching.stack.run_dir) / "blobs" / "uploads"
    before = set(blobs.iterdir()) if blobs.exists() else set()
    many = files(*[(f"{i}.txt", f"member {i}".encode()) for i in range(10_000)])
    answer = client.post("/v1/batches", files=many)
    assert (answer.status_code, answer.json()["code"]) == (422, "too_many_members"), answer.text
    urls = [f"https://docs.example.com/{i}.pdf" for i in range(10_000)]
    answer = client.post("/v1/batches", json={"urls": urls})
    assert (answer.status_code, answer.json()["code"]) == (422, "too_many_members"), answer.text
    assert client.get("/v1/batches").json()["items"] == []
    after = set(blobs.iterdir()) if blobs.exists() else set()
    assert after == before


def test_a_replayed_member_reopens_its_batch_and_its_next_end_is_a_new_webhook(
    client: httpx.Client, source_server: SourceServer, receiver: Receiver
) -> None:
    hook = f"/reopened/{uuid.uuid4().hex}"
    where = f"/{uuid.uuid4().hex}/flaky.pdf"
    url = source_server.answer(where, 502)
    answer = client.post(
        "/v1/batches", json={"urls": [url], "callback_url": receiver.url(hook), "ttl_s": 600}
    )
    assert answer.status_code == 202, answer.text
    batch_id, [member] = answer.json()["batch_id"], answer.json()["members"]
    first = wait_ended(client, batch_id)
    assert (first["state"], first["counts"]["dead_lettered"]) == ("completed_with_errors", 1)
    # The batch's own retention is its ttl_s, counted from its end.
    ended, expires = (datetime.fromisoformat(first[key]) for key in ("ended_at", "expires_at"))
    assert round((expires - ended).total_seconds()) == 600
    [gave_up] = receiver.wait_for(hook, 1)
    assert gave_up.event["type"] == "batch.completed_with_errors"
    # The source recovers; an admin replays the member: the batch runs again, then ends anew.
    source_server.put(where, make_pdf(1))
    source_server.answer(where, 200)
    replayed = client.post(f"/v1/dead-letters/{member['task_id']}/replay")
    assert replayed.status_code == 202, replayed.text
    second = wait_ended(client, batch_id)
    assert (second["state"], second["counts"]["succeeded"]) == ("succeeded", 1)
    deliveries = receiver.wait_for(hook, 2)
    assert deliveries[1].event["type"] == "batch.succeeded"
    assert deliveries[1].event["id"] != deliveries[0].event["id"]
