"""Signed webhooks end to end: an API, a documents worker and a callbacks worker of their own (on
their own Redis database, configured for callbacks), and a real receiver on 127.0.0.1."""

import itertools
import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from docqueue.celery_app import create_celery_app
from docqueue.jobs import keys
from docqueue.jobs.model import JobState
from docqueue.jobs.store import JobStore
from docqueue.names import webhook_message_id
from docqueue.settings import Settings
from docqueue.text import as_text
from docqueue.webhooks import event_id, requeue_due_webhook, verify_signature
from docqueue_beat.maintenance.broker import read_broker
from docqueue_beat.maintenance.reconcile import Reconciler
from docqueue_beat.tasks import WATCHED_QUEUES
from tests.conftest import TEST_ENV
from tests.support.documents import corrupt_pdf, make_pdf
from tests.support.held_jobs import hold_job, move
from tests.support.http import submit, upload, wait_terminal
from tests.support.stacks import DatabaseStack, database_stack
from tests.support.webhook_receiver import Receiver, running_receiver

SECRET = secrets.token_urlsafe(32)
MAX_DELIVERY_S = 10
PUBLIC_URL = "https://docqueue.test"
HOOK_ENV = {
    **TEST_ENV,
    "DOCQUEUE_WEBHOOK_SECRET": SECRET,
    # The receiver is on loopback over plain http: allowed here, refused by default.
    "DOCQUEUE_WEBHOOK_ALLOW_PRIVATE": "true",
    "DOCQUEUE_WEBHOOK_ALLOW_HTTP": "true",
    "DOCQUEUE_WEBHOOK_MAX_DELIVERY_S": str(MAX_DELIVERY_S),
    "DOCQUEUE_WEBHOOK_TIMEOUT_S": "2",
    "DOCQUEUE_PUBLIC_URL": PUBLIC_URL,
}
# The callbacks database: its own queues, so the suite's shared worker (no secret) never takes
# a callback message.
HOOK_DB = 5


@pytest.fixture(scope="module")
def hooks(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseStack]:
    with database_stack(
        redis_url, HOOK_DB, tmp_path_factory.mktemp("hooks"), HOOK_ENV, concurrency=1
    ) as stack:
        yield stack


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver(SECRET) as receiver:
        yield receiver


@pytest.fixture
def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def client(hooks: DatabaseStack, tenant: str) -> Iterator[httpx.Client]:
    with hooks.client(tenant) as client:
        yield client


def deliveries_of(client: httpx.Client, task_id: str) -> list[dict[str, Any]]:
    body = client.get(f"/v1/tasks/{task_id}").json()
    found: list[dict[str, Any]] = body["callback_deliveries"]
    return found


def outbox(hooks: DatabaseStack) -> set[str]:
    return {as_text(member) for member in hooks.redis.zrange(keys.WEBHOOKS_DUE, 0, -1)}


def wait_deliveries(client: httpx.Client, task_id: str, done: set[str], timeout_s: float = 30) -> list[Any]:
    """The recorded attempts, once the last one's outcome is in `done`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        attempts = deliveries_of(client, task_id)
        if attempts and attempts[-1]["outcome"] in done:
            return attempts
        time.sleep(0.1)
    raise AssertionError(f"no final delivery outcome: {deliveries_of(client, task_id)}")


def test_a_succeeded_task_is_posted_once_with_a_valid_signature(
    hooks: DatabaseStack, client: httpx.Client, receiver: Receiver
) -> None:
    path = f"/ok/{uuid.uuid4().hex}"
    task_id = submit(client, make_pdf(3), callback_url=receiver.url(path))
    status = wait_terminal(client, task_id)
    assert status["callback_url"] == receiver.url(path)
    [delivery] = receiver.wait_for(path, 1)
    assert delivery.signature_ok
    assert verify_signature(SECRET, delivery.body, delivery.headers["Docqueue-Signature"])
    assert not verify_signature("another-secret" * 3, delivery.body, delivery.headers["Docqueue-Signature"])
    event = delivery.event
    assert delivery.headers["Docqueue-Event-Id"] == event["id"]
    assert delivery.headers["Docqueue-Event-Type"] == event["type"] == "task.succeeded"
    assert delivery.headers["Content-Type"] == "application/json"
    assert event["task"]["task_id"] == task_id
    assert event["task"]["progress"] == {"pages_done": 3, "pages_total": 3, "percent": 100.0}
    assert event["task"]["result_url"] == f"{PUBLIC_URL}/v1/tasks/{task_id}/result"
    [attempt] = wait_deliveries(client, task_id, {"delivered"})
    assert (attempt["attempt"], attempt["status_code"], attempt["event_id"]) == (1, 200, event["id"])
    assert webhook_message_id("task", task_id) not in outbox(hooks)  # settled with the attempt
    time.sleep(2)
    assert len(receiver.received(path)) == 1


def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(
    client: httpx.Client, receiver: Receiver
) -> None:
    path = f"/flaky/{uuid.uuid4().hex}"
    receiver.script(path, 503, 500, 200)
    task_id = submit(client, make_pdf(2), callback_url=receiver.url(path))
    got = receiver.wait_for(path, 3)
    assert all(d.signature_ok for d in got)
    assert len({d.body for d in got}) == 1  # the same event each time, freshly signed
    gaps = [b.received_at - a.received_at for a, b in itertools.pairwise(got)]
    assert gaps[0] >= 0.9  # attempt 1 waits 1-2 s, attempt 2 waits 2-4 s
    assert gaps[1] >= 1.9
    attempts = wait_deliveries(client, task_id, {"delivered"})
    assert [(a["attempt"], a["status_code"], a["outcome"]) for a in attempts] == [
        (1, 503, "retrying"),
        (2, 500, "retrying"),
        (3, 200, "delivered"),
    ]


def test_retries_stop_once_the_delivery_time_bound_is_spent(
    hooks: DatabaseStack, client: httpx.Client, receiver: Receiver
) -> None:
    path = f"/down/{uuid.uuid4().hex}"
    receiver.script(path, 500)
    task_id = submit(client, make_pdf(1), callback_url=receiver.url(path))
    attempts = wait_deliveries(client, task_id, {"gave_up"}, timeout_s=MAX_DELIVERY_S + 20)
    assert [a["outcome"] for a in attempts] == ["retrying"] * (len(attempts) - 1) + ["gave_up"]
    assert len(attempts) >= 3
    got = receiver.received(path)
    assert len(got) == len(attempts)
    assert got[-1].received_at - got[0].received_at <= MAX_DELIVERY_S
    assert webhook_message_id("task", task_id) not in outbox(hooks)  # given up is final too
    time.sleep(3)
    assert len(receiver.received(path)) == len(attempts)


def test_an_answer_that_will_never_change_is_not_retried(client: httpx.Client, receiver: Receiver) -> None:
    path = f"/gone/{uuid.uuid4().hex}"
    receiver.script(path, 410)
    task_id = submit(client, make_pdf(1), callback_url=receiver.url(path))
    [attempt] = wait_deliveries(client, task_id, {"failed"})
    assert attempt["status_code"] == 410
    time.sleep(2.5)
    assert len(receiver.received(path)) == 1


def test_a_failed_document_and_a_cancelled_task_are_posted_too(
    client: httpx.Client, receiver: Receiver, hooks: DatabaseStack, tenant: str
) -> None:
    failed_path = f"/failed/{uuid.uuid4().hex}"
    submit(client, corrupt_pdf(), callback_url=receiver.url(failed_path))
    [failed] = receiver.wait_for(failed_path, 1)
    assert failed.event["type"] == "task.failed"
    assert failed.event["task"]["error"]["code"] == "corrupt_document"

    # Cancelled through the API: its terminal listener queues the callback.
    cancelled_path = f"/cancelled/{uuid.uuid4().hex}"
    held = hold_job(hooks.redis_url, tenant, callback_url=receiver.url(cancelled_path))
    assert client.delete(f"/v1/tasks/{held.task_id}").status_code == 202
    [cancelled] = receiver.wait_for(cancelled_path, 1)
    assert cancelled.signature_ok
    assert cancelled.event["type"] == "task.cancelled"
    assert cancelled.event["task"]["error"]["code"] == "cancelled"


@pytest.fixture(scope="module")
def strict_api(hooks: DatabaseStack) -> Iterator[str]:
    """An API with the default, safe callback rules (https only, public addresses only)."""
    process, url = hooks.stack.start_api(
        env={"DOCQUEUE_WEBHOOK_ALLOW_PRIVATE": "false", "DOCQUEUE_WEBHOOK_ALLOW_HTTP": "false"}
    )
    yield url
    process.stop()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/x", "scheme_not_allowed"),
        ("ftp://hooks.example.com/x", "scheme_not_allowed"),
        ("https://127.0.0.1/x", "address_not_allowed"),
        ("https://localhost:8443/x", "address_not_allowed"),
        ("https://[::1]/x", "address_not_allowed"),
        ("https://[::ffff:127.0.0.1]/x", "address_not_allowed"),
        ("https://169.254.169.254/latest/meta-data/", "address_not_allowed"),
        ("https://10.0.0.7/x", "address_not_allowed"),
        ("https://192.168.1.1/x", "address_not_allowed"),
        ("https://100.64.0.1/x", "address_not_allowed"),
        ("https://224.0.0.1/x", "address_not_allowed"),
        ("https://0.0.0.0/x", "address_not_allowed"),
        ("https://user:pass@hooks.example.com/x", "invalid_url"),
        ("https://hooks.example.com:99999/x", "invalid_url"),
        ("not a url", "invalid_url"),
    ],
)
def test_callback_urls_that_could_reach_inside_are_refused_at_upload(
    strict_api: str, hooks: DatabaseStack, url: str, reason: str
) -> None:
    with hooks.client() as client:
        client.base_url = httpx.URL(strict_api)
        response = upload(client, make_pdf(1), callback_url=url)
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["code"] == "invalid_callback_url"
        assert problem["errors"][0]["type"] == reason
        assert problem["errors"][0]["loc"] == ["body", "callback_url"]
        assert client.get("/v1/tasks").json()["items"] == []  # nothing was created


def test_an_api_without_a_signing_secret_refuses_callback_urls(api: httpx.Client) -> None:
    response = upload(api, make_pdf(1), callback_url="https://hooks.example.com/x")
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "callbacks_disabled"


def test_a_webhook_lost_between_the_end_and_its_message_is_sent_by_the_reconciler(
    hooks: DatabaseStack, client: httpx.Client, receiver: Receiver, tenant: str
) -> None:
    """The process that ended a task died before it queued the webhook (or the broker refused the
    send): the end wrote the webhook into the outbox in the same step, and beat's reconciler,
    finding no message of it in the broker, queues it; the webhooks worker delivers it once."""
    path = f"/lost/{uuid.uuid4().hex}"
    held = hold_job(hooks.redis_url, tenant, callback_url=receiver.url(path))
    now = time.time()
    ended = move(hooks.redis, held.task_id, terminal=True, state=JobState.FAILED, finished_at=now)
    message_id = webhook_message_id("task", held.task_id)
    assert message_id in outbox(hooks)

    settings = Settings(redis_url=hooks.redis_url)
    app = create_celery_app(settings)
    reconciler = Reconciler(
        jobs=JobStore(hooks.redis, settings.retention_s),
        settings=settings,
        read_broker=lambda: read_broker(hooks.redis, WATCHED_QUEUES),
        publish=lambda job: None,
        requeue_webhook=lambda message: requeue_due_webhook(app, hooks.redis, message),
        grace_s=30,
    )
    broker = read_broker(hooks.redis, WATCHED_QUEUES)
    assert reconciler.requeue_webhooks(broker, now + 1, 100) == []  # its hand-off may be on its way
    assert reconciler.requeue_webhooks(broker, now + 31, 100) == [message_id]
    # Its message is in the broker now (waiting, or held by the worker), or delivered: not again.
    assert reconciler.requeue_webhooks(read_broker(hooks.redis, WATCHED_QUEUES), now + 31, 100) == []
    [delivery] = receiver.wait_for(path, 1)
    assert delivery.signature_ok
    assert delivery.event["id"] == event_id(ended)
    assert delivery.event["type"] == "task.failed"
    wait_deliveries(client, held.task_id, {"delivered"})
    assert message_id not in outbox(hooks)
    assert reconciler.requeue_webhooks(read_broker(hooks.redis, WATCHED_QUEUES), now + 31, 100) == []
    time.sleep(2)
    assert len(receiver.received(path)) == 1


def test_an_outbox_entry_whose_task_is_gone_is_dropped(hooks: DatabaseStack) -> None:
    message_id = webhook_message_id("task", uuid.uuid4().hex)
    hooks.redis.zadd(keys.WEBHOOKS_DUE, {message_id: time.time() - 60})
    settings = Settings(redis_url=hooks.redis_url)
    assert not requeue_due_webhook(create_celery_app(settings), hooks.redis, message_id)
    assert message_id not in outbox(hooks)
