"""Reading, listing and cancelling the caller's batches."""

import base64
import binascii
import contextlib
from typing import Any

from starlette.requests import Request

from docqueue.errors import ProblemCode
from docqueue.jobs import keys
from docqueue.jobs.batches import Batch
from docqueue.jobs.model import Job
from docqueue.text import as_text
from docqueue.webhooks import parse_attempts
from docqueue_api.auth import Caller
from docqueue_api.batches.schemas import BatchPage, BatchView, Members, MemberView
from docqueue_api.links import task_links
from docqueue_api.problems import ProblemError
from docqueue_api.services import ApiServices
from docqueue_api.tasks.schemas import Progress, TaskError
from docqueue_api.tasks.service import CANCELLABLE, cancel_task, decode_cursor, encode_cursor, plausible_id

# Members read per round trip when a batch is cancelled.
CANCEL_PAGE = 500


async def find_batch(services: ApiServices, caller: Caller, batch_id: str) -> Batch:
    """The caller's batch, or 404: another tenant's batch looks exactly like a missing one."""
    batch = await services.jobs.batch(batch_id) if plausible_id(batch_id) else None
    if batch is None or batch.tenant != caller.tenant:
        raise ProblemError(404, ProblemCode.BATCH_NOT_FOUND, "no such batch")
    return batch


async def batch_view(
    services: ApiServices, request: Request, batch: Batch, limit: int, cursor: str | None
) -> BatchView:
    """The batch with one page of its members (and its webhook's delivery attempts)."""
    start = _decode_offset(cursor) if cursor else 0
    ids = await services.jobs.batch_members(batch.batch_id, start, limit)
    jobs = await services.jobs.get_many(ids)
    items = [
        _member_view(request, start + i, task_id, job)
        for i, (task_id, job) in enumerate(zip(ids, jobs, strict=True))
    ]
    more = start + len(ids) < batch.created
    deliveries = None
    if batch.callback_url:
        raw = await services.redis.lrange(keys.batch_webhook_attempts(batch.batch_id), 0, -1)
        deliveries = parse_attempts(raw)
    members = Members(items=items, next_cursor=_encode_offset(start + len(ids)) if more and ids else None)
    return BatchView.of(batch, request, members, deliveries)


def _member_view(request: Request, index: int, task_id: str, job: Job | None) -> MemberView:
    status_url = task_links(request, task_id).status_url
    if job is None:
        return MemberView(index=index, task_id=task_id, state=None, status_url=status_url)
    return MemberView(
        index=index,
        task_id=task_id,
        state=job.state,
        stage=job.stage,
        progress=Progress(pages_done=job.pages_done, pages_total=job.pages_total, percent=job.percent),
        filename=job.filename,
        source_url=job.source_url,
        error=TaskError.of(job),
        status_url=status_url,
    )


async def list_batches(
    services: ApiServices, request: Request, caller: Caller, limit: int, cursor: str | None
) -> BatchPage:
    """The caller's batches, newest first (batches whose record expired are dropped on the way)."""
    max_score, after_id = decode_cursor(cursor) if cursor else ("+inf", None)
    index = keys.tenant_batches(caller.tenant)
    found: list[BatchView] = []
    last: tuple[float, str] | None = None
    while len(found) < limit:
        rows: list[Any] = await services.redis.zrevrangebyscore(
            index, max_score, "-inf", start=0, num=limit + 1, withscores=True
        )
        page: list[tuple[str, float]] = [(as_text(member), float(score)) for member, score in rows]
        if after_id is not None:
            # Same-score entries come in descending id order; skip those already returned.
            page = [
                (bid, score) for bid, score in page if not (score == float(max_score) and bid >= after_id)
            ]
        if not page:
            return BatchPage(items=found, next_cursor=None)
        for batch_id, score in page:
            last = (score, batch_id)
            max_score, after_id = repr(score), batch_id
            batch = await services.jobs.batch(batch_id)
            if batch is None:
                await services.redis.zrem(index, batch_id)
                continue
            found.append(BatchView.of(batch, request))
            if len(found) == limit:
                break
    return BatchPage(items=found, next_cursor=encode_cursor(*last) if last else None)


async def cancel_batch(services: ApiServices, batch: Batch) -> Batch:
    """Cancel every member that has not ended (each like DELETE /v1/tasks/{id}); members that
    end meanwhile keep their outcome."""
    start = 0
    while ids := await services.jobs.batch_members(batch.batch_id, start, CANCEL_PAGE):
        for job in await services.jobs.get_many(ids):
            if job is not None and job.state in CANCELLABLE:
                with contextlib.suppress(ProblemError):  # it ended between the read and the cancel
                    await cancel_task(services.jobs, job, services.on_terminal)
        start += len(ids)
    return await services.jobs.batch(batch.batch_id) or batch


def _encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(f"m:{offset}".encode()).decode().rstrip("=")


def _decode_offset(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, offset = raw.split(":", 1)
        if prefix != "m" or not offset.isdigit():
            raise ValueError(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ProblemError(400, ProblemCode.INVALID_CURSOR, "the cursor is not valid") from exc
    return int(offset)
