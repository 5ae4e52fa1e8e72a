"""The worker's callback sender against a real receiver on loopback and a real Redis, with a
resolver the test controls (a DNS answer that changes between upload and delivery)."""

import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from pydantic import SecretStr

from docqueue.jobs.model import Job, JobOptions, JobState
from docqueue.settings import Settings
from docqueue.webhooks import attempts_key, parse_attempts
from docqueue_worker.webhooks import WebhookSender, backoff_s
from tests.support.webhook_receiver import Receiver, running_receiver

SECRET = "wh-" + uuid.uuid4().hex + uuid.uuid4().hex


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver(SECRET) as receiver:
        yield receiver


def ended_job(callback_url: str) -> dict[str, str]:
    job = Job(
        task_id=uuid.uuid4().hex, tenant="t", filename="r.pdf", media_type="application/pdf",
        size_bytes=10, sha256="0" * 64, options=JobOptions(), blob_key="b", created_at=1.0,
        updated_at=2.0, state=JobState.SUCCEEDED, finished_at=2.0, callback_url=callback_url,
    )  # fmt: skip
    return job.to_redis()


def recorded(client: redis.Redis, task_id: str) -> list[dict[str, object]]:
    return parse_attempts(list(client.lrange(attempts_key(task_id), 0, -1)))


def test_a_name_that_now_resolves_inside_is_refused_at_delivery(
    redis_client: redis.Redis, receiver: Receiver
) -> None:
    """DNS rebinding: the upload saw a public address; the delivery must check again."""
    settings = Settings(webhook_secret=SecretStr(SECRET), webhook_allow_http=True)
    sender = WebhookSender(redis_client, settings, resolver=lambda host, port: ["127.0.0.1"])
    fields = ended_job(f"http://hooks.example.com:{receiver.port}/rebound")

    assert sender.deliver(fields["task_id"], fields, time.time(), attempt=1) is None  # no retry
    [attempt] = recorded(redis_client, fields["task_id"])
    assert attempt["outcome"] == "refused"
    assert "address_not_allowed" in str(attempt["error"])
    assert receiver.received("/rebound") == []  # no request was made


def test_the_connection_goes_to_the_checked_address_with_the_urls_host(
    redis_client: redis.Redis, receiver: Receiver
) -> None:
    settings = Settings(webhook_secret=SecretStr(SECRET), webhook_allow_http=True, webhook_allow_private=True)
    sender = WebhookSender(redis_client, settings, resolver=lambda host, port: ["127.0.0.1"])
    fields = ended_job(f"http://hooks.example.com:{receiver.port}/pinned?tenant=7")

    assert sender.deliver(fields["task_id"], fields, time.time(), attempt=1) is None
    [delivery] = receiver.wait_for("/pinned?tenant=7", 1)
    assert delivery.headers["Host"] == f"hooks.example.com:{receiver.port}"
    assert delivery.signature_ok
    # A second message for the same event (at-least-once) is not delivered twice.
    assert sender.deliver(fields["task_id"], fields, time.time(), attempt=1) is None
    assert len(receiver.received("/pinned?tenant=7")) == 1
    assert [a["outcome"] for a in recorded(redis_client, fields["task_id"])] == ["delivered"]


def test_an_unreachable_receiver_is_retried_with_growing_waits(redis_client: redis.Redis) -> None:
    settings = Settings(
        webhook_secret=SecretStr(SECRET),
        webhook_allow_http=True,
        webhook_allow_private=True,
        webhook_timeout_s=1,
    )
    sender = WebhookSender(redis_client, settings)
    fields = ended_job("http://127.0.0.1:9/nobody-listens")  # the discard port: refused at once

    wait_s = sender.deliver(fields["task_id"], fields, time.time(), attempt=1)
    assert wait_s is not None
    assert 1.0 <= wait_s <= 2.0
    [attempt] = recorded(redis_client, fields["task_id"])
    assert (attempt["outcome"], attempt["status_code"]) == ("retrying", None)
    assert "connect" in str(attempt["error"])
    # Past the delivery bound it gives up instead of waiting again.
    assert sender.deliver(fields["task_id"], fields, time.time() - 4000, attempt=2) is None
    assert recorded(redis_client, fields["task_id"])[-1]["outcome"] == "gave_up"


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    for attempt, (low, high) in {1: (1, 2), 2: (2, 4), 3: (4, 8), 20: (150, 300)}.items():
        assert all(low <= backoff_s(attempt) <= high for _ in range(50))
