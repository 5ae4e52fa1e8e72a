"""Webhook delivery: POST a task's signed event to its `callback_url`, and record the attempt.

Every attempt checks the URL again and resolves its host anew, then connects to the address it
checked (the Host header and TLS name stay the URL's), so a DNS answer that changes after the
check cannot point the request at an internal service. No redirects are followed; the answer's
body is never read. 2xx is delivered; a connection failure, a timeout, 408, 429 or 5xx is retried
with backoff until `webhook_max_delivery_s` after the task ended; any other answer is final.
"""

import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import redis

import docqueue
from docqueue import names
from docqueue.backoff import equal_jitter_s
from docqueue.egress import Resolver, UrlRefused, check_url, resolve_target
from docqueue.jobs import keys
from docqueue.jobs.batches import Batch
from docqueue.jobs.model import Job
from docqueue.settings import Settings
from docqueue.webhooks import (
    BACKOFF_MAX_S,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    Hook,
    batch_hook,
    encode_event,
    parse_attempts,
    record_attempt,
    settle_due,
    sign,
    task_hook,
    webhook_policy,
)
from docqueue_worker.pinned import pinned_client, send_pinned

log = logging.getLogger(__name__)

BACKOFF_BASE_S = 2.0
RETRYABLE_STATUSES = frozenset({408, 425, 429})
USER_AGENT = f"docqueue-webhooks/{docqueue.__version__}"


@dataclass(frozen=True)
class Answer:
    """What one attempt got: a status code, or an error; `refused` when the URL broke a rule."""

    status_code: int | None
    error: str | None
    refused: bool = False


class WebhookSender:
    """Delivers one attempt of one webhook; `deliver` answers the retry countdown, if any."""

    def __init__(
        self,
        client: redis.Redis,
        settings: Settings,
        resolver: Resolver | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = client
        self.settings = settings
        self.policy = webhook_policy(settings)
        self.resolver = resolver
        self.clock = clock
        self.ssl_context = ssl.create_default_context()

    def deliver(self, task_id: str, fields: dict[str, str], enqueued_at: float, attempt: int) -> float | None:
        """A task's webhook (the message carries its final record)."""
        return self.send(task_hook(Job.from_redis(fields), self.settings.public_url), enqueued_at, attempt)

    def deliver_batch(self, batch_id: str, enqueued_at: float, attempt: int) -> float | None:
        """A batch's webhook, from its record as it stands: nothing when it is gone, or running
        again (a replayed member reopened it; its next end sends a new event)."""
        raw = self.redis.hgetall(keys.batch(batch_id))
        batch = Batch.from_redis(raw) if raw else None
        if batch is None or batch.is_running:
            log.info("batch webhook skipped", extra={"batch_id": batch_id})
            # Whatever the outbox holds for it is of an end that no longer stands.
            self.redis.zrem(keys.WEBHOOKS_DUE, names.webhook_message_id("batch", batch_id))
            return None
        return self.send(batch_hook(batch, self.settings.public_url), enqueued_at, attempt)

    def send(self, hook: Hook, enqueued_at: float, attempt: int) -> float | None:
        """One attempt; the countdown to the next one, if any."""
        if self._already_delivered(hook):
            settle_due(self.redis, hook)
            return None  # a duplicate message (at-least-once): the receiver has it
        started = time.monotonic()
        answer = self._attempt(hook)
        record: dict[str, Any] = {
            "event_id": hook.event["id"],
            "attempt": attempt,
            "at": datetime.fromtimestamp(self.clock(), tz=UTC).isoformat(),
            "status_code": answer.status_code,
            "error": answer.error,
            "duration_ms": round((time.monotonic() - started) * 1000),
        }
        retry_in_s = None
        if answer.status_code is not None and 200 <= answer.status_code < 300:
            record["outcome"] = "delivered"
        elif answer.refused:
            record["outcome"] = "refused"
        elif not _retryable(answer):
            record["outcome"] = "failed"
        else:
            countdown = backoff_s(attempt)
            if self.clock() + countdown > enqueued_at + self.settings.webhook_max_delivery_s:
                record["outcome"] = "gave_up"
            else:
                record["outcome"] = "retrying"
                retry_in_s = countdown
        record_attempt(self.redis, hook, record, self.settings.retention_s, final=retry_in_s is None)
        log.info(
            "webhook %s",
            record["outcome"],
            extra={"subject": hook.subject, "status_code": answer.status_code, "attempt": attempt},
        )
        return retry_in_s

    def _attempt(self, hook: Hook) -> Answer:
        secret = self.settings.webhook_secret
        if secret is None or not hook.url:
            return Answer(None, "webhooks are not configured on this worker", refused=True)
        try:
            target = check_url(hook.url, self.policy)
            addresses = resolve_target(target, self.policy, self.resolver)
        except UrlRefused as exc:
            return Answer(None, f"{exc.reason}: {exc.message}", refused=True)
        except OSError as exc:
            return Answer(None, f"the host does not resolve: {exc}")
        event = hook.event
        body = encode_event(event)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(secret.get_secret_value(), body, int(self.clock())),
            EVENT_ID_HEADER: event["id"],
            EVENT_TYPE_HEADER: event["type"],
        }
        with pinned_client(self.settings.webhook_timeout_s, self.ssl_context) as client:
            try:
                response = send_pinned(client, "POST", target, addresses, headers, body)
            except httpx.ConnectError as exc:
                return Answer(None, f"connect failed: {exc}")
            except httpx.TimeoutException as exc:
                return Answer(None, f"timed out: {type(exc).__name__}")
            except httpx.HTTPError as exc:
                return Answer(None, f"{type(exc).__name__}: {exc}")
            response.close()  # the body is the receiver's business; never read it
        return Answer(response.status_code, None)

    def _already_delivered(self, hook: Hook) -> bool:
        attempts = parse_attempts(list(self.redis.lrange(hook.attempts_key, 0, -1)))
        return any(
            a.get("event_id") == hook.event["id"] and a.get("outcome") == "delivered" for a in attempts
        )


def _retryable(answer: Answer) -> bool:
    if answer.status_code is None:
        return True  # no answer: connection, timeout or DNS failure
    return answer.status_code >= 500 or answer.status_code in RETRYABLE_STATUSES


def backoff_s(attempt: int) -> float:
    """Attempt 1 waits 1-2 s, then twice as long each time, up to 150-300 s."""
    return equal_jitter_s(attempt, BACKOFF_BASE_S, BACKOFF_MAX_S)
