"""Signed webhooks: the event a callback carries, its signature, the SSRF rules for its URL, the
record of each delivery attempt, and the hand-off to the `callbacks` queue.

The worker's `callbacks.deliver` task does the HTTP; the API checks a `callback_url` at upload with
the same rules, and the worker checks it again (resolving the host anew) before every attempt, so a
name that resolved to a public address at upload and to 127.0.0.1 later (DNS rebinding) is refused.
"""

import hashlib
import hmac
import ipaddress
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import redis
from celery import Celery

from docqueue import names
from docqueue.jobs import keys
from docqueue.jobs.commands import BACKSTOP_GRACE_S
from docqueue.jobs.model import Job, JobState
from docqueue.settings import Settings

SIGNATURE_HEADER = "Docqueue-Signature"
EVENT_ID_HEADER = "Docqueue-Event-Id"
EVENT_TYPE_HEADER = "Docqueue-Event-Type"
# A receiver should refuse a signature older than this (replayed requests).
SIGNATURE_TOLERANCE_S = 300
MAX_URL_CHARS = 2048
# Delivery attempts kept per task (the newest); enough to see a whole retry schedule.
ATTEMPTS_KEPT = 30

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class CallbackRefused(ValueError):
    """docqueue will not call this URL; `reason` is a stable machine code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class CallbackPolicy:
    """Which callback URLs are allowed. The defaults are the safe ones."""

    allowed_hosts: tuple[str, ...] = ()
    allow_http: bool = False
    allow_private: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> "CallbackPolicy":
        return cls(settings.callback_hosts, settings.callback_allow_http, settings.callback_allow_private)


@dataclass(frozen=True)
class Target:
    """A checked callback URL, split into what a pinned connection needs."""

    url: str
    scheme: str
    host: str  # lower-case ASCII (IDNA), without brackets
    port: int
    literal_ip: IPAddress | None


def check_url(url: str, policy: CallbackPolicy) -> Target:
    """Syntax, scheme and allow-list; a literal IP address is checked here too."""
    if not url or len(url) > MAX_URL_CHARS or not url.isprintable() or " " in url:
        raise CallbackRefused(
            "invalid_url", f"the callback URL must be 1-{MAX_URL_CHARS} printable characters"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise CallbackRefused("invalid_url", f"the callback URL is not valid: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and policy.allow_http):
        raise CallbackRefused("scheme_not_allowed", "the callback URL must use https")
    if parts.username is not None or parts.password is not None:
        raise CallbackRefused("invalid_url", "the callback URL must not carry credentials")
    host = _ascii_host(parts.hostname or "")
    if policy.allowed_hosts and not host_allowed(host, policy.allowed_hosts):
        raise CallbackRefused("host_not_allowed", f"callbacks to {host} are not allowed here")
    literal = _literal_ip(host)
    if literal is not None:
        check_address(literal, policy)
    return Target(url, scheme, host, port or (443 if scheme == "https" else 80), literal)


def host_allowed(host: str, patterns: tuple[str, ...]) -> bool:
    """Exact names, or `*.example.com` for any subdomain of example.com (not example.com itself)."""
    for pattern in patterns:
        if pattern.startswith("*.") and host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
            return True
        if host == pattern:
            return True
    return False


def check_address(address: IPAddress, policy: CallbackPolicy) -> None:
    """Refuse anything but a public unicast address, unless private targets are allowed."""
    if policy.allow_private:
        return
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    # is_global is False for private, loopback, link-local, shared (100.64/10), reserved and
    # documentation ranges; multicast needs its own check.
    if not address.is_global or address.is_multicast:
        raise CallbackRefused(
            "address_not_allowed", f"callbacks to {address} (not a public address) are refused"
        )


def resolve_target(
    target: Target, policy: CallbackPolicy, resolver: Resolver | None = None
) -> list[IPAddress]:
    """The addresses to connect to, every one checked. `socket.gaierror` (OSError) if the name does
    not resolve: the caller decides whether that is final (upload) or worth a retry (delivery)."""
    if target.literal_ip is not None:
        return [target.literal_ip]
    found = [ipaddress.ip_address(raw) for raw in (resolver or system_resolver)(target.host, target.port)]
    if not found:
        raise CallbackRefused("unresolvable_host", f"{target.host} has no address")
    for address in found:
        check_address(address, policy)
    return found


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # Drop an IPv6 zone ("fe80::1%eth0"); keep the order, without repeats.
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


def _ascii_host(hostname: str) -> str:
    host = hostname.rstrip(".").lower()
    if not host:
        raise CallbackRefused("invalid_url", "the callback URL has no host")
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise CallbackRefused("invalid_url", "the callback host is not a valid name") from exc


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


# --- the event and its signature --------------------------------------------------------------


def build_event(job: Job, public_url: str | None) -> dict[str, Any]:
    """The JSON body of a callback: the task as `GET /v1/tasks/{id}` shows it, plus an event id
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
    ended_at = job.finished_at or job.updated_at
    digest = hashlib.sha256(f"{job.task_id}:{job.state}:{ended_at:.6f}".encode()).hexdigest()
    return f"evt_{digest[:32]}"


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


def enqueue_callback(app: Celery, job: Job) -> None:
    """Queue the callback of a job that just ended; nothing when it has no callback_url.

    The message carries the final record, so the event describes this terminal transition even
    if the job changes later (a replay), and the time it was queued, which bounds the retries.
    """
    if not job.callback_url or not job.is_terminal:
        return
    app.send_task(names.DELIVER_CALLBACK, args=[job.task_id, job.to_redis(), time.time()])


def attempts_key(task_id: str) -> str:
    return keys.job_callbacks(task_id)


# KEYS: job, attempts list. ARGV: attempt JSON, entries kept, fallback ttl seconds.
# The list expires with the job (its remaining TTL), so it never outlives it.
_RECORD_ATTEMPT = """
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) else redis.call('EXPIRE', KEYS[2], ARGV[3]) end
return 1
"""


def record_attempt(client: redis.Redis, task_id: str, attempt: dict[str, Any], retention_s: int) -> None:
    """Append one delivery attempt to the task's record (shown on `GET /v1/tasks/{id}`)."""
    client.eval(
        _RECORD_ATTEMPT,
        2,
        keys.job(task_id),
        attempts_key(task_id),
        json.dumps(attempt, separators=(",", ":")),
        str(ATTEMPTS_KEPT),
        str(retention_s + BACKSTOP_GRACE_S),
    )


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
