"""The event sequence of one task: its current state at once, then every change until it ends.

Memory stays bounded however slow the client: entries are read from Redis in small batches only
when the previous ones were sent (FastAPI's SSE stream and the server's socket both apply
backpressure), and each entry is a whole snapshot, so a client that falls behind the stream's
trimming skips states it no longer needs instead of being buffered for.
"""

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from docqueue_api.events.source import START_ID, Entry, TaskEvents

# Browsers wait this long before reconnecting a dropped EventSource.
RECONNECT_MS = 2000


@dataclass(frozen=True)
class Heartbeat:
    """Nothing happened for a while: a comment keeps proxies from closing the idle connection."""


Item = Entry | Heartbeat


async def follow(
    source: TaskEvents,
    task_id: str,
    resume_after: str | None,
    heartbeat_s: float,
    max_stream_s: float,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[Item]:
    """Yield the task's current state (unless resuming), then each later change, ending after a
    terminal state. Resuming yields only entries after `resume_after`, so the terminal event is
    sent even if the client dropped just before it, and never twice."""
    deadline = clock() + max_stream_s
    cursor = resume_after
    pending: list[Entry] = []
    if cursor is not None:
        # A resume after the end must close at once, not after a heartbeat's wait.
        pending = await source.after(task_id, cursor, block_s=None)
        if not pending:
            job = await source.current(task_id)
            if job is None:
                return
            if job.is_terminal:  # read once more: its terminal entry may have landed meanwhile
                pending = await source.after(task_id, cursor, block_s=None)
                if not pending:
                    return
    else:
        first = await source.latest(task_id)
        if first is None:  # the stream is gone but the job is not: send its state
            job = await source.current(task_id)
            if job is None:
                return
            first = Entry(START_ID, job)
        yield first
        if first.job.is_terminal:
            return
        cursor = first.id
    while clock() < deadline:
        entries, pending = pending, []
        if not entries:
            entries = await source.after(
                task_id, cursor, block_s=min(heartbeat_s, max(0.0, deadline - clock()))
            )
        if not entries:
            job = await source.current(task_id)
            if job is None:
                return  # expired or deleted while we waited
            if job.is_terminal:
                # Ended before `cursor` (a resume after the end) or just now: read once more
                # without blocking so a terminal entry written meanwhile is not missed.
                entries = await source.after(task_id, cursor, block_s=None)
                if not entries:
                    return
            else:
                yield Heartbeat()
                continue
        for entry in entries:
            yield entry
            cursor = entry.id
            if entry.job.is_terminal:
                return
