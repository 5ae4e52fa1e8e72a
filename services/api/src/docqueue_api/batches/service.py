"""Accept a batch (files streamed into the blob store, URLs checked), create its record and its
member tasks, queue them; read, list and cancel batches.

Every member is an ordinary task: deduplicated against the tenant's tasks, cancellable, dead-
lettered and replayed like any other. A file the API can tell at once is no document (empty, or not
a format docqueue reads) does not refuse the batch: its member task fails at once, with the code a
worker would give it, so a folder with one stray file still runs and says which file it was.
"""

import logging
import time
import uuid
from dataclasses import dataclass

import anyio
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError
from starlette.requests import Request

from docqueue.errors import ErrorCode, ProblemCode
from docqueue.jobs.batches import Batch
from docqueue.jobs.commands import Update, fingerprint
from docqueue.jobs.model import Job, JobOptions, JobState
from docqueue.lanes import publish_document
from docqueue.storage import BlobWriter, StorageError, upload_key
from docqueue.webhooks import enqueue_batch_webhook
from docqueue_api.auth import Caller
from docqueue_api.batches.receive import FILES_FIELD, URLS_FIELD, Received, receive_batch, too_many_members
from docqueue_api.batches.schemas import (
    AcceptedMember,
    BatchAccepted,
    BatchView,
)
from docqueue_api.documents.form import ReceivedFile
from docqueue_api.documents.idempotency import IdempotencyKeys, StoredAnswer
from docqueue_api.documents.service import (
    TTL_FIELD,
    admit,
    job_retention_s,
    new_job,
    parse_options,
    unavailable,
    wait_for_replicas,
)
from docqueue_api.documents.upload import Upload
from docqueue_api.documents.urls import CALLBACK_FIELD, accept_callback_url, accept_source_url
from docqueue_api.links import task_links
from docqueue_api.problems import ProblemError
from docqueue_api.services import ApiServices
from docqueue_api.tasks.schemas import TaskError

log = logging.getLogger(__name__)

# URLs checked (and their hosts resolved) at once while a batch is accepted.
CONCURRENT_URL_CHECKS = 16


@dataclass
class Member:
    """One member before it is created: a received file, or a URL."""

    index: int
    task_id: str
    upload: Upload
    source_url: str | None = None

    @property
    def refused(self) -> ErrorCode | None:
        """What a file the API could not store is: its task fails with this at once."""
        if self.source_url is not None or self.upload.media_type is not None:
            return None
        return ErrorCode.EMPTY_DOCUMENT if self.upload.size_bytes == 0 else ErrorCode.UNSUPPORTED_TYPE


async def submit_batch(
    request: Request, services: ApiServices, caller: Caller, idempotency_key: str | None
) -> BatchAccepted:
    settings = services.settings
    await admit(services, caller, idempotency_key)
    # Each stored file's member task, by file index: its id names its blob.
    file_tasks: dict[int, str] = {}
    # Members whose job exists: their blobs are the job's now, even if the request fails later.
    created: set[str] = set()

    def open_writer(index: int) -> BlobWriter:
        task_id = file_tasks.setdefault(index, uuid.uuid4().hex)
        return services.blobs.writer(upload_key(task_id), ttl_s=settings.retention_s)

    try:
        received = await receive_batch(request, services.settings, open_writer)
        return await _register(request, services, caller, received, file_tasks, created, idempotency_key)
    except StorageError as exc:
        raise unavailable("document storage is unavailable") from exc
    except BaseException:
        for task_id in set(file_tasks.values()) - created:
            try:
                await anyio.to_thread.run_sync(services.blobs.delete, upload_key(task_id))
            except StorageError:
                log.warning("could not delete a refused batch's file", extra={"task_id": task_id})
        raise


async def _register(
    request: Request,
    services: ApiServices,
    caller: Caller,
    received: Received,
    file_tasks: dict[int, str],
    created: set[str],
    idempotency_key: str | None,
) -> BatchAccepted:
    settings = services.settings
    total = len(received.files) + len(received.urls)
    if total == 0:
        raise ProblemError(
            422,
            ProblemCode.MISSING_FILE,
            f"a batch needs {FILES_FIELD!r} parts or {URLS_FIELD!r}",
            errors=[{"loc": ["body", FILES_FIELD], "msg": "field required", "type": "missing"}],
        )
    if total > settings.max_batch_members:
        raise too_many_members(settings.max_batch_members)
    options = parse_options(received.fields, services)
    callback_url = await accept_callback_url(received.fields.get(CALLBACK_FIELD), settings)
    retention_s = await job_retention_s(received.fields.get(TTL_FIELD), services, caller.tenant)
    sources = await _accept_urls(received.urls, services)
    members = [
        Member(file.index, file_tasks.setdefault(file.index, uuid.uuid4().hex), _upload_of(file))
        for file in received.files
    ] + [
        Member(len(received.files) + i, uuid.uuid4().hex, Upload("", None, 0, "", {}), url)
        for i, url in enumerate(sources)
    ]
    idempotency = IdempotencyKeys(services.redis, settings.idempotency_ttl_s)
    print_ = _fingerprint(members, options, callback_url, retention_s)
    try:
        if idempotency_key is not None:
            stored = await idempotency.begin(caller.tenant, idempotency_key, print_)
            if stored is not None:
                # The first request's answer; this one's files are not needed.
                for member in members:
                    if member.upload.has_file:
                        await anyio.to_thread.run_sync(services.blobs.delete, upload_key(member.task_id))
                return BatchAccepted.model_validate(stored.body)
        try:
            answer = await _create(
                request, services, caller, members, options, callback_url, retention_s, created
            )
        except BaseException:
            if idempotency_key is not None:
                await idempotency.release(caller.tenant, idempotency_key)
            raise
        if idempotency_key is not None:
            await idempotency.complete(
                caller.tenant, idempotency_key, print_, StoredAnswer(202, answer.model_dump(mode="json"))
            )
        return answer
    except RedisError as exc:
        raise unavailable("the job store is unavailable") from exc


def _upload_of(file: ReceivedFile) -> Upload:
    return Upload(file.filename, file.media_type, file.size_bytes, file.sha256, {})


async def _accept_urls(urls: list[str], services: ApiServices) -> list[str]:
    """Each URL checked like a task's source_url, a few at once; the first refusal (by index)
    refuses the batch, naming the URL's place."""
    checked: list[str] = [""] * len(urls)
    refused: dict[int, ProblemError] = {}
    limiter = anyio.CapacityLimiter(CONCURRENT_URL_CHECKS)

    async def check(index: int, url: str) -> None:
        async with limiter:
            try:
                checked[index] = await accept_source_url(
                    url, services.settings, loc=["body", URLS_FIELD, index]
                )
            except ProblemError as exc:
                refused[index] = exc

    async with anyio.create_task_group() as group:
        for index, url in enumerate(urls):
            group.start_soon(check, index, url)
    if refused:
        raise refused[min(refused)]
    return checked


def _fingerprint(
    members: list[Member], options: JobOptions, callback_url: str | None, ttl: int | None
) -> str:
    what = "\n".join(member.upload.sha256 or f"source:{member.source_url}" for member in members)
    return fingerprint(f"batch:{callback_url}:{ttl}\n{what}", options)


async def _create(
    request: Request,
    services: ApiServices,
    caller: Caller,
    members: list[Member],
    options: JobOptions,
    callback_url: str | None,
    retention_s: int | None,
    created: set[str],
) -> BatchAccepted:
    now = time.time()
    batch = Batch(
        batch_id=uuid.uuid4().hex,
        tenant=caller.tenant,
        total=len(members),
        created_at=now,
        updated_at=now,
        callback_url=callback_url,
        retention_s=retention_s or services.settings.retention_s,
    )
    await services.jobs.create_batch(batch)
    accepted: list[AcceptedMember] = []
    queued: list[Job] = []
    ended = False
    for member in members:
        job = new_job(
            caller, member.task_id, member.upload, options, member.source_url, retention_s=retention_s
        )
        existing_id, ended_now = await services.jobs.create_member(job, batch.batch_id)
        ended = ended or ended_now
        created.add(member.task_id)
        if existing_id is not None:
            if member.upload.has_file:
                await anyio.to_thread.run_sync(services.blobs.delete, job.blob_key)
            existing = await services.jobs.get(existing_id)
            state = existing.state if existing is not None else JobState.QUEUED
            accepted.append(_accepted(request, member, existing_id, state, deduplicated=True))
        elif (refused := member.refused) is not None:
            await _fail_at_once(services, job, refused)
            error = TaskError(code=refused, message=_REFUSED[refused], retryable=False)
            accepted.append(_accepted(request, member, job.task_id, JobState.FAILED, error=error))
        else:
            queued.append(job)
            accepted.append(_accepted(request, member, job.task_id, JobState.QUEUED))
    await anyio.to_thread.run_sync(_publish_all, services, queued)
    if ended:
        await anyio.to_thread.run_sync(enqueue_batch_webhook, services.celery, batch.batch_id)
    if queued:
        await wait_for_replicas(services, queued[-1].task_id)
    current = await services.jobs.batch(batch.batch_id)
    view = BatchView.of(current or batch, request)
    return BatchAccepted(
        batch_id=batch.batch_id,
        state=view.state,
        total=batch.total,
        status_url=view.status_url,
        events_url=view.events_url,
        members=accepted,
    )


_REFUSED = {
    ErrorCode.EMPTY_DOCUMENT: "the file is empty",
    ErrorCode.UNSUPPORTED_TYPE: "the file is not a format docqueue reads (checked from its bytes)",
}


async def _fail_at_once(services: ApiServices, job: Job, code: ErrorCode) -> None:
    now = time.time()
    result = await services.jobs.update(
        Update(
            task_id=job.task_id,
            now=now,
            from_states={JobState.QUEUED},
            set={
                "state": JobState.FAILED,
                "error_code": code,
                "error_message": _REFUSED[code],
                "finished_at": now,
            },
            terminal=True,
            history={"event": "failed", "error_code": str(code)},
        )
    )
    if result.ok and result.job is not None:
        for listener in services.on_terminal:
            await anyio.to_thread.run_sync(listener, result.job)


def _publish_all(services: ApiServices, jobs: list[Job]) -> None:
    """Queue every new member. A broker failure part way leaves the rest queued without a message:
    beat's reconciler queues them (their records exist), so nothing accepted is lost."""
    for job in jobs:
        try:
            publish_document(services.celery, job, services.settings, retry=False)
        except (OperationalError, RedisError, OSError):
            log.warning(
                "batch member not queued; the reconciler will queue it", extra={"task_id": job.task_id}
            )
            return


def _accepted(
    request: Request,
    member: Member,
    task_id: str,
    state: JobState,
    *,
    deduplicated: bool = False,
    error: TaskError | None = None,
) -> AcceptedMember:
    return AcceptedMember(
        index=member.index,
        task_id=task_id,
        filename=member.upload.filename if member.source_url is None else member.source_url,
        source_url=member.source_url,
        state=state,
        deduplicated=deduplicated,
        error=error,
        status_url=task_links(request, task_id).status_url,
    )
