"""Reading, listing and cancelling the caller's tasks, and deleting their results."""

import base64
import binascii
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import anyio

from docqueue.errors import ErrorCode, ProblemCode
from docqueue.jobs import keys
from docqueue.jobs.async_store import AsyncJobStore
from docqueue.jobs.commands import Update, fingerprint
from docqueue.jobs.model import TERMINAL_STATES, Job, JobState
from docqueue.storage import StorageError
from docqueue_api.auth import Caller
from docqueue_api.problems import ProblemError

if TYPE_CHECKING:
    from docqueue_api.services import ApiServices

CANCELLABLE = frozenset({JobState.QUEUED, JobState.RUNNING, JobState.RETRYING})
# Candidates scanned per list request when filtering by state, so a page stays cheap.
SCAN_LIMIT = 1000


async def find_task(jobs: AsyncJobStore, caller: Caller, task_id: str) -> Job:
    """The caller's job, or 404: another tenant's task looks exactly like a missing one."""
    job = await jobs.get(task_id) if plausible_id(task_id) else None
    if job is None or job.tenant != caller.tenant:
        raise ProblemError(404, ProblemCode.TASK_NOT_FOUND, "no such task")
    return job


async def cancel_task(
    jobs: AsyncJobStore, job: Job, on_terminal: Sequence[Callable[[Job], None]] = ()
) -> Job:
    """Queued work never runs; running work stops at its next progress write."""
    if job.state == JobState.CANCELLED:
        return job
    if job.state in TERMINAL_STATES:
        raise ProblemError(409, ProblemCode.TASK_NOT_CANCELLABLE, f"the task already ended: {job.state}")
    now = time.time()
    result = await jobs.update(
        Update(
            task_id=job.task_id,
            now=now,
            from_states=CANCELLABLE,
            set={
                "state": JobState.CANCELLED,
                "error_code": ErrorCode.CANCELLED,
                "error_message": "cancelled by the client",
                "finished_at": now,
            },
            terminal=True,
            history={"event": "cancelled"},
        )
    )
    if result.job is None:
        raise ProblemError(404, ProblemCode.TASK_NOT_FOUND, "no such task")
    if not result.ok and result.job.state != JobState.CANCELLED:
        raise ProblemError(
            409, ProblemCode.TASK_NOT_CANCELLABLE, f"the task already ended: {result.job.state}"
        )
    if result.ok:
        for listener in on_terminal:
            await anyio.to_thread.run_sync(listener, result.job)
    return result.job


async def delete_result(services: "ApiServices", job: Job) -> Job:
    """Delete a finished task's result and upload now; the status stays, with
    `result_deleted_at`. Safe to repeat: a retry after a storage error deletes what is left."""
    if job.state not in TERMINAL_STATES:
        raise ProblemError(
            409,
            ProblemCode.TASK_NOT_FINISHED,
            f"the task is {job.state}: cancel it first (DELETE /v1/tasks/{job.task_id})",
        )
    deleted = job
    if job.result_deleted_at is None:
        now = time.time()
        result = await services.jobs.update(
            Update(
                task_id=job.task_id,
                now=now,
                from_states=TERMINAL_STATES,
                set={"result_deleted_at": now},
                unset=["result_key"],
                history={"event": "result_deleted"},
            )
        )
        if result.job is None:
            raise ProblemError(404, ProblemCode.TASK_NOT_FOUND, "no such task")
        deleted = result.job
        # The same bytes uploaded again make a new task, not this one without its result.
        await services.redis.delete(keys.dedupe(job.tenant, fingerprint(job.sha256, job.options)))
    try:
        await anyio.to_thread.run_sync(services.blobs.purge_task, job.task_id)
    except StorageError as exc:
        raise ProblemError(
            503, ProblemCode.SERVICE_UNAVAILABLE, "document storage is unavailable; retry the DELETE",
            headers={"Retry-After": "5"},
        ) from exc  # fmt: skip
    return deleted


async def list_tasks(
    jobs: AsyncJobStore, caller: Caller, state: JobState | None, limit: int, cursor: str | None
) -> tuple[list[Job], str | None]:
    """A page of the caller's jobs, newest first, optionally only those in `state`."""
    max_score, after_id = decode_cursor(cursor) if cursor else ("+inf", None)
    found: list[Job] = []
    scanned = 0
    last: tuple[float, str] | None = None
    while len(found) < limit and scanned < SCAN_LIMIT:
        batch = await jobs.page(caller.tenant, max_score, limit + 1)
        if after_id is not None:
            # Same-score entries come in descending id order; skip those already returned.
            batch = [
                (tid, score) for tid, score in batch if not (_same(score, max_score) and tid >= after_id)
            ]
        if not batch:
            return found, None
        records = await jobs.get_many([tid for tid, _ in batch])
        for (task_id, score), job in zip(batch, records, strict=True):
            scanned += 1
            last = (score, task_id)
            if job is None:
                await jobs.forget(caller.tenant, task_id)
            elif state is None or job.state == state:
                found.append(job)
                if len(found) == limit:
                    break
        if last is not None:
            max_score, after_id = f"{last[0]!r}", last[1]
    return found, encode_cursor(*last) if last else None


def encode_cursor(score: float, task_id: str) -> str:
    return base64.urlsafe_b64encode(f"{score!r}:{task_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        score, task_id = raw.split(":", 1)
        float(score)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ProblemError(400, ProblemCode.INVALID_CURSOR, "the cursor is not valid") from exc
    return score, task_id


def _same(score: float, max_score: str) -> bool:
    return max_score not in ("+inf", "-inf") and score == float(max_score)


def plausible_id(task_id: str) -> bool:
    """An id docqueue could have made (a task's or a batch's: 32 hex digits); anything else is
    answered 404 without a Redis read."""
    return len(task_id) == 32 and all(ch in "0123456789abcdef" for ch in task_id)
