"""Reads a job's event stream (`docqueue:job:{task_id}:events`): every job change is one entry whose
`data` is the job hash after the change, so the latest entry is the current state and the stream
id is a natural SSE event id."""

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from prometheus_client import Gauge

from docqueue.errors import ProblemCode
from docqueue.jobs import keys
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


@dataclass(frozen=True)
class Entry:
    """One job change: its stream id and the job as it was right after it."""

    id: str
    job: Job


class TaskEvents:
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

    async def latest(self, task_id: str) -> Entry | None:
        rows: Any = await self.redis.xrevrange(keys.job_events(task_id), count=1)
        return _entries(rows)[0] if rows else None

    async def after(self, task_id: str, after_id: str, block_s: float | None) -> list[Entry]:
        """Entries after `after_id` (exclusive), waiting up to `block_s` for one when there are none."""
        block_ms = None if block_s is None else max(1, int(block_s * 1000))
        reply: Any = await self.redis.xread(
            {keys.job_events(task_id): after_id}, count=READ_BATCH, block=block_ms
        )
        return _entries(reply[0][1]) if reply else []

    async def current(self, task_id: str) -> Job | None:
        raw = await self.redis.hgetall(keys.job(task_id))
        return Job.from_redis(raw) if raw else None

    async def close(self) -> None:
        await self.redis.aclose()


def _entries(rows: list[Any]) -> list[Entry]:
    entries = []
    for entry_id, fields in rows:
        data = fields.get(b"data") or fields.get("data")
        if data is not None:
            entries.append(Entry(as_text(entry_id), Job.from_redis(json.loads(data))))
    return entries
