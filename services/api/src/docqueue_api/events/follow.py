"""The event sequence of one task (or batch): its current state at once, then every change until
it ends.

Memory stays bounded however slow the client: entries are read from Redis in small batches only
when the previous ones were sent (FastAPI's SSE stream and the server's socket both apply
backpressure), and each entry is a whole snapshot, so a client that falls behind the stream's
trimming skips states it no longer needs instead of being buffered for.
"""

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from docqueue_api.events.source import START_ID, Entry, EventStreams, StreamKind, T

# Browsers wait this long before reconnecting a dropped EventSource.
RECONNECT_MS = 2000


@dataclass(frozen=True)
class Heartbeat:
    """Nothing happened for a while: a comment keeps proxies from closing the idle connection."""


async def follow(
    source: EventStreams,
    kind: StreamKind[T],
    record_id: str,
    resume_after: str | None,
    heartbeat_s: float,
    max_stream_s: float,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[Entry[T] | Heartbeat]:
    """Yield the record's current state (unless resuming), then each later change, ending after
    the change that ends it. Resuming yields only entries after `resume_after`, so the terminal event is
    sent even if the client dropped just before it, and never twice."""
    deadline = clock() + max_stream_s
    cursor = resume_after
    pending: list[Entry[T]] = []
    if cursor is not None:
        # A resume after the end must close at once, not after a heartbeat's wait.
        pending = await source.after(kind, record_id, cursor, block_s=None)
        if not pending:
            record = await source.current(kind, record_id)
            if record is None:
                return
            if kind.ended(record):  # read once more: its last entry may have landed meanwhile
                pending = await source.after(kind, record_id, cursor, block_s=None)
                if not pending:
                    return
    else:
        first = await source.latest(kind, record_id)
        if first is None:  # the stream is gone (or not begun) but the record is not: send it
            current = await source.current(kind, record_id)
            if current is None:
                return
            first = Entry(START_ID, current)
        yield first
        if kind.ended(first.record):
            return
        cursor = first.id
    while clock() < deadline:
        entries, pending = pending, []
        if not entries:
            entries = await source.after(
                kind, record_id, cursor, block_s=min(heartbeat_s, max(0.0, deadline - clock()))
            )
        if not entries:
            record = await source.current(kind, record_id)
            if record is None:
                return  # expired or deleted while we waited
            if kind.ended(record):
                # Ended before `cursor` (a resume after the end) or just now: read once more
                # without blocking so a last entry written meanwhile is not missed.
                entries = await source.after(kind, record_id, cursor, block_s=None)
                if not entries:
                    return
            else:
                yield Heartbeat()
                continue
        for entry in entries:
            yield entry
            cursor = entry.id
            if kind.ended(entry.record):
                return
