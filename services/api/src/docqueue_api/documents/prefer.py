"""`Prefer: wait=N` (RFC 7240) on an upload: answer with the finished task when it ends within N
seconds, else the usual 202. The wait follows the job's event stream (one blocking read per
change, no polling), holds no worker, and takes one of the process's event-stream slots; with
none free the preference is simply not applied (RFC 7240 lets a server ignore a preference)."""

import logging
import re
import time

from fastapi import Request
from redis.exceptions import RedisError

from docqueue.jobs.model import TERMINAL_STATES, Job
from docqueue_api.documents.schemas import Accepted, Finished
from docqueue_api.events.source import START_ID, TASK_EVENTS, EventStreams
from docqueue_api.services import ApiServices
from docqueue_api.tasks.schemas import TaskView

log = logging.getLogger(__name__)

# One preference: a token, optionally `=value` (a token or a quoted string), then parameters.
_PREFERENCE = re.compile(r'^\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*(?:=\s*("[^"]*"|[^;,\s]*))?')
_DELTA_SECONDS = re.compile(r"^\d{1,9}$")
# Longest single blocking read: under the event client's socket timeout (heartbeat + 10 s).
MAX_BLOCK_S = 10.0


def requested_wait_s(headers: list[str]) -> int | None:
    """The `wait` preference of the request's Prefer headers: its first occurrence wins (RFC
    7240 §2); a value that is not delta-seconds is ignored, as an unknown preference is."""
    for header in headers:
        for preference in header.split(","):
            match = _PREFERENCE.match(preference)
            if match is None or match.group(1).lower() != "wait":
                continue
            value = (match.group(2) or "").strip('"')
            return int(value) if _DELTA_SECONDS.match(value) else None
    return None


async def wait_for_end(events: EventStreams, task_id: str, timeout_s: float) -> Job | None:
    """The job once it is terminal, or None when `timeout_s` passes first."""
    deadline = time.monotonic() + timeout_s
    latest = await events.latest(TASK_EVENTS, task_id)
    if latest is not None and latest.record.state in TERMINAL_STATES:
        return latest.record
    cursor = latest.id if latest is not None else START_ID
    while (remaining := deadline - time.monotonic()) > 0:
        # Blocks in Redis until the next change or the deadline: nothing is cancelled mid-read.
        block_s = min(remaining, MAX_BLOCK_S)
        for entry in await events.after(TASK_EVENTS, task_id, cursor, block_s=block_s):
            cursor = entry.id
            if entry.record.state in TERMINAL_STATES:
                return entry.record
    return None


async def finished_within(
    services: ApiServices, request: Request, accepted: Accepted
) -> tuple[Finished | None, int | None]:
    """The upload's `Prefer: wait`, applied: the finished task (or None) and the seconds waited
    (None when the preference was not applied). The task was accepted before this runs, so a
    Redis error while waiting gives the usual 202, never an error."""
    wait_s = min(
        requested_wait_s(request.headers.getlist("prefer")) or 0, services.settings.max_prefer_wait_s
    )
    # The wait is an event stream held open: it counts against the same cap.
    if wait_s <= 0 or not services.events.has_free_slot():
        return None, None
    try:
        async with services.events.slot():
            job = await wait_for_end(services.events, accepted.task_id, wait_s)
    except RedisError:
        log.warning("the wait for an upload's end was cut short", extra={"task_id": accepted.task_id})
        return None, wait_s
    if job is None:
        return None, wait_s
    view = TaskView.of(job, request)
    return Finished(**view.model_dump(), deduplicated=accepted.deduplicated), wait_s
