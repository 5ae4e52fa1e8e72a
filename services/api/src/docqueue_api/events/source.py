"""Reads event streams: a job's (`docqueue:job:{task_id}:events`), where every job change is one
entry whose `data` is the job hash after the change, and a batch's (`docqueue:batch:{id}:events`),
where every counted member change is one entry with the batch hash after it and the member that
moved. The latest entry is the current state and the stream id is a natural SSE event id."""

import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from prometheus_client import Gauge

from docqueue.errors import ProblemCode
from docqueue.jobs import keys
from docqueue.jobs.batches import Batch
from docqueue.jobs.model import Job
from docqueue.redis_url import async_redis_client
from docqueue.text import as_text
from docqueue_api.problems import ProblemError

# Entries read per XREAD: what one stream holds in memory at most while its client is slow.
READ_BATCH = 32
STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
# The id before any entry, for a job whose stream is gone (it still has its current state).
START_ID = "0-0"

SSE_STREAMS = Gauge("docqueue_sse_connections", "Server-Sent Event streams open in this API process")


T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One change: its stream id and the record as it was right after it."""

    id: str
    record: T


@dataclass(frozen=True)
class BatchChange:
    """A batch after a change, and the member that moved (None: read from the record itself)."""

    batch: Batch
    member: dict[str, Any] | None = None


@dataclass(frozen=True)
class StreamKind(Generic[T]):
    """Where one kind of record and its events live, how to read them, and when they end."""

    stream_key: Callable[[str], str]
    record_key: Callable[[str], str]
    decode: Callable[[dict[str, Any]], T]
    ended: Callable[[T], bool]


def _batch_change(fields: dict[str, Any]) -> BatchChange:
    member = fields.pop("member", None)
    return BatchChange(Batch.from_redis(fields), json.loads(member) if member else None)


TASK_EVENTS: StreamKind[Job] = StreamKind(
    keys.job_events, keys.job, Job.from_redis, lambda job: job.is_terminal
)
BATCH_EVENTS: StreamKind[BatchChange] = StreamKind(
    keys.batch_events, keys.batch, _batch_change, lambda change: not change.batch.is_running
)


class EventStreams:
    """Blocking reads on a Redis client of their own (its socket timeout outlasts a heartbeat
    wait; the API's main client keeps its short one), and a cap on open streams per process."""

    def __init__(
        self, redis_url: str, sentinel_password: str | None, max_streams: int, heartbeat_s: float
    ) -> None:
        self.redis = async_redis_client(
            redis_url,
            sentinel_password,
            socket_timeout=heartbeat_s + 10,
            socket_connect_timeout=3,
            health_check_interval=25,
            max_connections=max_streams + 8,
        )
        self.max_streams = max_streams
        self.open_streams = 0

    def has_free_slot(self) -> bool:
        return self.open_streams < self.max_streams

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the process's stream slots; 503 when none is free."""
        if self.open_streams >= self.max_streams:
            raise ProblemError(
                503,
                ProblemCode.TOO_MANY_STREAMS,
                "too many event streams are open; poll GET /v1/tasks/{task_id} or retry later",
                headers={"Retry-After": "5"},
            )
        self.open_streams += 1
        SSE_STREAMS.inc()
        try:
            yield
        finally:
            self.open_streams -= 1
            SSE_STREAMS.dec()

    async def latest(self, kind: StreamKind[T], record_id: str) -> Entry[T] | None:
        rows: Any = await self.redis.xrevrange(kind.stream_key(record_id), count=1)
        return _entries(kind, rows)[0] if rows else None

    async def after(
        self, kind: StreamKind[T], record_id: str, after_id: str, block_s: float | None
    ) -> list[Entry[T]]:
        """Entries after `after_id` (exclusive), waiting up to `block_s` for one when there are none."""
        block_ms = None if block_s is None else max(1, int(block_s * 1000))
        reply: Any = await self.redis.xread(
            {kind.stream_key(record_id): after_id}, count=READ_BATCH, block=block_ms
        )
        return _entries(kind, reply[0][1]) if reply else []

    async def current(self, kind: StreamKind[T], record_id: str) -> T | None:
        raw = await self.redis.hgetall(kind.record_key(record_id))
        return kind.decode({as_text(k): as_text(v) for k, v in raw.items()}) if raw else None

    async def close(self) -> None:
        await self.redis.aclose()


def _entries(kind: StreamKind[T], rows: list[Any]) -> list[Entry[T]]:
    entries = []
    for entry_id, fields in rows:
        data = fields.get(b"data") or fields.get("data")
        if data is not None:
            entries.append(Entry(as_text(entry_id), kind.decode(json.loads(data))))
    return entries
