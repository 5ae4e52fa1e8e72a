"""Signed webhooks: the event a webhook carries, its signature, the record of each delivery
attempt, and the hand-off to the webhooks queue (named `callbacks`, see docqueue.names).

The worker's `docqueue_worker.webhooks` does the HTTP; the URL rules (docqueue.egress) are checked
by the API at upload and by the worker again before every attempt.
"""

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from celery import Celery

from docqueue import names
from docqueue.egress import EgressPolicy, parse_hosts
from docqueue.jobs import keys
from docqueue.jobs.batches import Batch
from docqueue.jobs.commands import BACKSTOP_GRACE_S
from docqueue.jobs.model import Job, JobState
from docqueue.settings import Settings

SIGNATURE_HEADER = "Docqueue-Signature"
EVENT_ID_HEADER = "Docqueue-Event-Id"
EVENT_TYPE_HEADER = "Docqueue-Event-Type"
# A receiver should refuse a signature older than this (replayed requests).
SIGNATURE_TOLERANCE_S = 300
# Delivery attempts kept per task (the newest); enough to see a whole retry schedule.
ATTEMPTS_KEPT = 30
# The longest wait between two attempts: a retry waits in a worker as an unacked message that long.
BACKOFF_MAX_S = 300.0


def webhook_policy(settings: Settings) -> EgressPolicy:
    """The URL rules of webhooks, from the deployment's settings."""
    return EgressPolicy(
        "callback",
        parse_hosts(settings.webhook_allowed_hosts),
        settings.webhook_allow_http,
        settings.webhook_allow_private,
    )


# --- the event and its signature --------------------------------------------------------------


def build_event(job: Job, public_url: str | None) -> dict[str, Any]:
    """The JSON body of a task's webhook: the task as `GET /v1/tasks/{id}` shows it, plus an event id
    that stays the same across retries of one delivery (receivers dedupe on it)."""
    base = (public_url or "").rstrip("/")
    ended_at = job.finished_at or job.updated_at
    error = None
    if job.error_code is not None and job.state != JobState.SUCCEEDED:
        error = {
            "code": str(job.error_code),
            "message": job.error_message or "",
            "retryable": job.error_retryable,
        }
    return {
        "id": event_id(job),
        "type": f"task.{job.state}",
        "created_at": _iso(ended_at),
        "task": {
            "task_id": job.task_id,
            "state": str(job.state),
            "stage": str(job.stage),
            "progress": {
                "pages_done": job.pages_done,
                "pages_total": job.pages_total,
                "percent": job.percent,
            },
            "attempts": job.attempts,
            "error": error,
            "filename": job.filename,
            "media_type": job.media_type,
            "size_bytes": job.size_bytes,
            "created_at": _iso(job.created_at),
            "started_at": _iso(job.started_at),
            "finished_at": _iso(job.finished_at),
            "status_url": f"{base}/v1/tasks/{job.task_id}",
            "result_url": f"{base}/v1/tasks/{job.task_id}/result",
        },
    }


def event_id(job: Job) -> str:
    return _event_id(job.task_id, str(job.state), job.finished_at or job.updated_at)


def _event_id(subject: str, state: str, ended_at: float) -> str:
    digest = hashlib.sha256(f"{subject}:{state}:{ended_at:.6f}".encode()).hexdigest()
    return f"evt_{digest[:32]}"


def build_batch_event(batch: Batch, public_url: str | None) -> dict[str, Any]:
    """The JSON body of a batch's webhook, sent once when its last member ended: the batch as
    `GET /v1/batches/{id}` shows it, without its members."""
    base = (public_url or "").rstrip("/")
    ended_at = batch.ended_at or batch.updated_at
    counts = {str(state): batch.counts.get(state, 0) for state in JobState}
    return {
        "id": _event_id(batch.batch_id, str(batch.state), ended_at),
        "type": f"batch.{batch.state}",
        "created_at": _iso(ended_at),
        "batch": {
            "batch_id": batch.batch_id,
            "state": str(batch.state),
            "total": batch.total,
            "counts": counts,
            "progress": {
                "pages_done": batch.pages_done,
                "pages_total": batch.pages_total,
                "percent": batch.percent,
            },
            "created_at": _iso(batch.created_at),
            "ended_at": _iso(batch.ended_at),
            "status_url": f"{base}/v1/batches/{batch.batch_id}",
        },
    }


@dataclass(frozen=True)
class Hook:
    """One webhook to deliver: its event, where to, and where its attempts are recorded (a list
    that expires with `record_key`)."""

    subject: str  # the task or batch id, for logs
    url: str | None
    event: dict[str, Any]
    record_key: str
    attempts_key: str
    # Its message id and outbox entry (names.webhook_message_id), and when its subject ended (the
    # entry's score): a final attempt settles the entry of this end, not of a later one.
    message_id: str
    ended_at: float


def task_hook(job: Job, public_url: str | None) -> Hook:
    return Hook(
        job.task_id,
        job.callback_url,
        build_event(job, public_url),
        keys.job(job.task_id),
        attempts_key(job.task_id),
        names.webhook_message_id("task", job.task_id),
        job.finished_at or job.updated_at,
    )


def batch_hook(batch: Batch, public_url: str | None) -> Hook:
    return Hook(
        batch.batch_id,
        batch.callback_url,
        build_batch_event(batch, public_url),
        keys.batch(batch.batch_id),
        keys.batch_webhook_attempts(batch.batch_id),
        names.webhook_message_id("batch", batch.batch_id),
        batch.ended_at or batch.updated_at,
    )


def encode_event(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The `Docqueue-Signature` value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(
    secret: str,
    body: bytes,
    header: str,
    *,
    tolerance_s: int = SIGNATURE_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """What a receiver does: recompute the HMAC over the timestamp and the raw body, compare in
    constant time, and refuse stale timestamps. Any `v1` may match (secret rotation)."""
    fields = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [value for name, value in fields if name.strip() == "t"]
    if len(stamps) != 1 or not stamps[0].strip().isdigit():
        return False
    timestamp = int(stamps[0])
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return any(
        name.strip() == "v1" and hmac.compare_digest(value.strip(), expected) for name, value in fields
    )


def _iso(epoch_s: float | None) -> str | None:
    if epoch_s is None:
        return None
    return datetime.fromtimestamp(epoch_s, tz=UTC).isoformat().replace("+00:00", "Z")


# --- hand-off and delivery record --------------------------------------------------------------


def enqueue_webhook(app: Celery, job: Job) -> None:
    """Queue the webhook of a job that just ended (nothing when it has no callback_url), and of
    each batch its change ended.

    The message carries the final record, so the event describes this terminal transition even
    if the job changes later (a replay), and the time it was queued, which bounds the retries.
    The step that ended the job put it in the webhook outbox too (keys.WEBHOOKS_DUE): should this
    process die before it sends, or the broker fail, beat's reconciler queues it instead
    (requeue_due_webhook).
    """
    if job.callback_url and job.is_terminal:
        app.send_task(
            names.DELIVER_WEBHOOK,
            args=[job.task_id, job.to_redis(), time.time()],
            task_id=names.webhook_message_id("task", job.task_id),
        )
    for batch_id in job.ended_batch_ids:
        enqueue_batch_webhook(app, batch_id)


def enqueue_batch_webhook(app: Celery, batch_id: str) -> None:
    """Queue the webhook of a batch that just ended (the change that ended it names it, see
    docqueue.jobs.batches); the worker reads the batch when it delivers."""
    app.send_task(
        names.DELIVER_BATCH_WEBHOOK,
        args=[batch_id, time.time()],
        task_id=names.webhook_message_id("batch", batch_id),
    )


def requeue_due_webhook(app: Celery, client: redis.Redis, message_id: str) -> bool:
    """Queue again a webhook of the outbox whose message the broker no longer holds (beat's
    reconciler asks): a task's from its final record, a batch's as it stands. An entry whose
    subject is gone, or running again (a replay: its next end adds it anew), is dropped. True when
    queued."""
    kind, _, subject = message_id.removeprefix(names.WEBHOOK_MESSAGE_PREFIX).partition(":")
    if kind == "task":
        raw: dict[Any, Any] = client.hgetall(keys.job(subject))
        job = Job.from_redis(raw) if raw else None
        if job is not None and job.is_terminal and job.callback_url:
            enqueue_webhook(app, job)  # a record read back names no ended batch
            return True
    elif kind == "batch":
        raw = client.hgetall(keys.batch(subject))
        batch = Batch.from_redis(raw) if raw else None
        if batch is not None and not batch.is_running and batch.callback_url:
            enqueue_batch_webhook(app, subject)
            return True
    client.zrem(keys.WEBHOOKS_DUE, message_id)
    return False


def attempts_key(task_id: str) -> str:
    return keys.job_webhook_attempts(task_id)


# Take a hook out of the webhook outbox: only the entry of the end it was for (a later end's entry
# has a later score and stays).
_SETTLE_LUA = """
local function settle(outbox, message_id, ended_at)
  local due = redis.call('ZSCORE', outbox, message_id)
  if due and tonumber(due) <= tonumber(ended_at) + 1 then redis.call('ZREM', outbox, message_id) end
end
"""

# KEYS: job, attempts list, webhook outbox. ARGV: attempt JSON, entries kept, fallback ttl
# seconds, message id, ended at, "1" when the attempt is final.
# The list expires with the job (its remaining TTL), so it never outlives it.
_RECORD_ATTEMPT = (
    _SETTLE_LUA
    + """
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) else redis.call('EXPIRE', KEYS[2], ARGV[3]) end
if ARGV[6] == '1' then settle(KEYS[3], ARGV[4], ARGV[5]) end
return 1
"""
)

# KEYS: webhook outbox. ARGV: message id, ended at. The same settling, without an attempt.
_SETTLE_DUE = _SETTLE_LUA + "settle(KEYS[1], ARGV[1], ARGV[2])\nreturn 1\n"


def record_attempt(
    client: redis.Redis, hook: Hook, attempt: dict[str, Any], retention_s: int, *, final: bool
) -> None:
    """Append one delivery attempt to the hook's record (shown on `GET /v1/tasks/{id}` and
    `GET /v1/batches/{id}`); a final one (delivered, or given up) also takes the hook out of the
    webhook outbox, in the same step."""
    client.eval(
        _RECORD_ATTEMPT,
        3,
        hook.record_key,
        hook.attempts_key,
        keys.WEBHOOKS_DUE,
        json.dumps(attempt, separators=(",", ":")),
        str(ATTEMPTS_KEPT),
        str(retention_s + BACKSTOP_GRACE_S),
        hook.message_id,
        repr(hook.ended_at),
        "1" if final else "0",
    )


def settle_due(client: redis.Redis, hook: Hook) -> None:
    """Take the hook out of the webhook outbox without an attempt (a duplicate message of a
    delivered event)."""
    client.eval(_SETTLE_DUE, 1, keys.WEBHOOKS_DUE, hook.message_id, repr(hook.ended_at))


def parse_attempts(raw: list[Any]) -> list[dict[str, Any]]:
    attempts: list[dict[str, Any]] = []
    for item in raw:
        try:
            value = json.loads(item)
        except ValueError:
            continue
        if isinstance(value, dict):
            attempts.append(value)
    return attempts
