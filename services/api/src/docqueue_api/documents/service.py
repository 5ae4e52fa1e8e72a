"""Accept an upload: store the bytes, write the job, enqueue it; answer only once all three hold."""

import logging
import time
import uuid
from dataclasses import dataclass
from functools import partial

import anyio
from kombu.exceptions import OperationalError
from pydantic import ValidationError
from redis.exceptions import RedisError
from starlette.requests import Request

from docqueue import names
from docqueue.errors import ProblemCode
from docqueue.jobs import keys
from docqueue.jobs.commands import fingerprint
from docqueue.jobs.model import Job, JobOptions, JobState
from docqueue.lanes import job_queue, publish_document
from docqueue.sources import UNKNOWN_MEDIA_TYPE, source_filename
from docqueue.storage import StorageError, upload_key
from docqueue_api.auth import Caller
from docqueue_api.documents.filenames import display_filename
from docqueue_api.documents.idempotency import IdempotencyKeys, StoredAnswer
from docqueue_api.documents.schemas import Accepted
from docqueue_api.documents.upload import FILE_FIELD, Upload, UploadLimits, receive_upload
from docqueue_api.documents.urls import CALLBACK_FIELD, SOURCE_FIELD, accept_callback_url, accept_source_url
from docqueue_api.links import task_links
from docqueue_api.problems import ProblemError
from docqueue_api.services import ApiServices

log = logging.getLogger(__name__)

OPTION_FIELDS = frozenset(JobOptions.model_fields)
# Seconds the task is kept once it ended, shorter than the deployment's (and the tenant's) retention;
# like callback_url, not part of dedupe.
TTL_FIELD = "ttl_s"
# Fields of a submission that are not processing options.
OTHER_FIELDS = frozenset({CALLBACK_FIELD, TTL_FIELD, SOURCE_FIELD})
MIN_TTL_S = 60
RETRY_AFTER_S = "5"


@dataclass(frozen=True)
class Submission:
    status: int
    accepted: Accepted


def unavailable(detail: str) -> ProblemError:
    return ProblemError(503, ProblemCode.SERVICE_UNAVAILABLE, detail, headers={"Retry-After": RETRY_AFTER_S})


class NotReplicated(ProblemError):
    """A 503 for a job that was created and queued but is not yet on enough replicas: its blob
    and record stay, so the client's retry finds the task and the task finds its document."""

    def __init__(self, detail: str) -> None:
        super().__init__(503, ProblemCode.SERVICE_UNAVAILABLE, detail, headers={"Retry-After": RETRY_AFTER_S})


async def admit(services: ApiServices, caller: Caller, idempotency_key: str | None) -> None:
    """What refuses a submission (an upload, a batch) before its body is read: a malformed
    Idempotency-Key, a full interactive lane, a tenant over its fair share."""
    if idempotency_key is not None:
        IdempotencyKeys.check_key(idempotency_key)
    await refuse_when_backlogged(services)
    await refuse_over_fair_share(services, caller.tenant)


async def submit_document(
    request: Request, services: ApiServices, caller: Caller, idempotency_key: str | None
) -> Submission:
    settings = services.settings
    await admit(services, caller, idempotency_key)
    task_id = uuid.uuid4().hex
    blob_key = upload_key(task_id)
    limits = UploadLimits(settings.max_upload_bytes, settings.max_parts, settings.max_field_bytes)
    try:
        open_writer = partial(services.blobs.writer, blob_key, ttl_s=settings.retention_s)
        upload = await receive_upload(request, limits, open_writer)
    except StorageError as exc:
        raise unavailable("document storage is unavailable") from exc
    try:
        return await _register(request, services, caller, task_id, blob_key, upload, idempotency_key)
    except NotReplicated:
        raise
    except BaseException:
        await anyio.to_thread.run_sync(services.blobs.delete, blob_key)
        raise


async def _register(
    request: Request,
    services: ApiServices,
    caller: Caller,
    task_id: str,
    blob_key: str,
    upload: Upload,
    idempotency_key: str | None,
) -> Submission:
    source_url = await _source_of(upload, services)
    options = parse_options(upload.fields, services)
    # Stored on the job, not part of dedupe: a duplicate upload keeps the first job's callback.
    callback_url = await accept_callback_url(upload.fields.get(CALLBACK_FIELD), services.settings)
    retention_s = await job_retention_s(upload.fields.get(TTL_FIELD), services, caller.tenant)
    idempotency = IdempotencyKeys(services.redis, services.settings.idempotency_ttl_s)
    print_ = fingerprint(upload.sha256 or f"source:{source_url}", options)
    try:
        if idempotency_key is not None:
            stored = await idempotency.begin(caller.tenant, idempotency_key, print_)
            if stored is not None:
                await anyio.to_thread.run_sync(services.blobs.delete, blob_key)
                return Submission(stored.status, Accepted.model_validate(stored.body))
        try:
            job = new_job(
                caller,
                task_id,
                upload,
                options,
                source_url,
                callback_url=callback_url,
                retention_s=retention_s,
            )
            submission = await create_and_enqueue(request, services, job)
        except BaseException:
            if idempotency_key is not None:
                await idempotency.release(caller.tenant, idempotency_key)
            raise
        if idempotency_key is not None:
            answer = StoredAnswer(submission.status, submission.accepted.model_dump(mode="json"))
            await idempotency.complete(caller.tenant, idempotency_key, print_, answer)
        return submission
    except RedisError as exc:
        raise unavailable("the job store is unavailable") from exc


async def _source_of(upload: Upload, services: ApiServices) -> str | None:
    """The submission's `source_url` when it sends no file; exactly one of the two."""
    raw = upload.fields.get(SOURCE_FIELD)
    if upload.has_file and raw is not None:
        raise ProblemError(
            422,
            ProblemCode.VALIDATION_ERROR,
            f"send a {FILE_FIELD!r} part or a {SOURCE_FIELD!r} field, not both",
            errors=[{"loc": ["body", SOURCE_FIELD], "msg": "not with a file", "type": "extra_forbidden"}],
        )
    if upload.has_file:
        return None
    if raw is None or not raw.strip():
        raise ProblemError(
            422,
            ProblemCode.MISSING_FILE,
            f"the upload needs a {FILE_FIELD!r} part (or a {SOURCE_FIELD!r} field)",
            errors=[{"loc": ["body", FILE_FIELD], "msg": "field required", "type": "missing"}],
        )
    return await accept_source_url(raw, services.settings)


def new_job(
    caller: Caller,
    task_id: str,
    upload: Upload,
    options: JobOptions,
    source_url: str | None = None,
    *,
    callback_url: str | None = None,
    retention_s: int | None = None,
) -> Job:
    """The record of a new task: an upload's, or a `source_url`'s (fetched by the worker into
    its upload key, its type and digest unknown until then)."""
    now = time.time()
    return Job(
        task_id=task_id,
        tenant=caller.tenant,
        filename=display_filename(source_filename(source_url) if source_url else upload.filename),
        media_type=upload.media_type or UNKNOWN_MEDIA_TYPE,
        size_bytes=upload.size_bytes,
        sha256=upload.sha256,
        options=options,
        blob_key=upload_key(task_id),
        created_at=now,
        updated_at=now,
        source_url=source_url,
        callback_url=callback_url,
        retention_s=retention_s,
    )


async def create_and_enqueue(request: Request, services: ApiServices, job: Job) -> Submission:
    task_id, blob_key = job.task_id, job.blob_key
    queue = job_queue(job, services.settings)
    if queue != names.DOCUMENTS_QUEUE:
        await refuse_when_backlogged(services, queue)
    existing_id = await services.jobs.create(job)
    if existing_id is not None:
        existing = await services.jobs.get(existing_id)
        await anyio.to_thread.run_sync(services.blobs.delete, blob_key)
        state = existing.state if existing else JobState.QUEUED
        return Submission(200, accepted(request, existing_id, state, deduplicated=True))
    try:
        await anyio.to_thread.run_sync(_publish, services, job)
    except (OperationalError, RedisError, OSError) as exc:
        # No 202 without an enqueued message: take the record back so nothing waits forever.
        log.warning("enqueue failed; upload refused", extra={"task_id": task_id})
        await services.jobs.delete(job)
        raise unavailable("the queue is unavailable") from exc
    await wait_for_replicas(services, task_id)
    return Submission(202, accepted(request, task_id, JobState.QUEUED, deduplicated=False))


async def wait_for_replicas(services: ApiServices, task_id: str) -> None:
    """No 202 before the job is on `redis_replica_acks` replicas: a failover right after the
    answer could otherwise lose a job the client was told exists. On a timeout the job stays
    (the master may well survive and run it); the 503 tells the client to retry, and its retry
    gets this same task through its Idempotency-Key or the upload's dedupe."""
    wanted = services.settings.redis_replica_acks
    if wanted == 0:
        return
    timeout_ms = services.settings.redis_replica_ack_timeout_ms
    acked = await services.jobs.wait_for_replicas(task_id, wanted, timeout_ms)
    if acked < wanted:
        log.warning(
            "upload not on enough replicas; answered 503",
            extra={"task_id": task_id, "replicas": acked, "wanted": wanted},
        )
        raise NotReplicated(
            f"the upload reached {acked} of {wanted} Redis replicas within {timeout_ms} ms; retry "
            "with the same Idempotency-Key (or the same file and options) to get this task"
        )


def _publish(services: ApiServices, job: Job) -> None:
    publish_document(services.celery, job, services.settings, retry=False)


async def refuse_when_backlogged(services: ApiServices, queue: str = names.DOCUMENTS_QUEUE) -> None:
    """Backpressure: 503 when the lane's queue is over its cap. Checked for the interactive lane
    before the body is read, and for the bulk lane once the upload's size sends it there, so a
    bulk backlog never refuses a small upload."""
    depth = await services.redis.llen(queue)
    if depth >= services.settings.max_queue_depth:
        raise ProblemError(
            503,
            ProblemCode.QUEUE_FULL,
            f"{depth} documents are waiting; try again later",
            headers={"Retry-After": "30"},
        )


# Seconds a tenant over its page cap is told to wait: about what a part of a large document takes.
FAIR_SHARE_RETRY_AFTER_S = "10"


async def refuse_over_fair_share(services: ApiServices, tenant: str) -> None:
    """Fair shares: 429 while the tenant's unfinished documents hold DOCQUEUE_TENANT_MAX_PAGES_IN_FLIGHT
    pages or more. Refused, not queued behind: the client keeps its file and retries, and nothing
    the API accepted waits on a hidden second queue. One HGET, before the body is read."""
    cap = services.settings.tenant_max_pages_in_flight
    if not cap:
        return
    in_flight = int(await services.redis.hget(keys.TENANT_PAGES_IN_FLIGHT, tenant) or 0)
    if in_flight >= cap:
        raise ProblemError(
            429,
            ProblemCode.TOO_MANY_PAGES_IN_FLIGHT,
            f"this tenant's unfinished documents hold {in_flight} pages (the cap is {cap}); "
            "try again when some have finished",
            headers={"Retry-After": FAIR_SHARE_RETRY_AFTER_S},
        )


async def job_retention_s(ttl: str | None, services: ApiServices, tenant: str) -> int | None:
    """The job's own retention: the upload's `ttl_s`, bounded by the tenant's maximum
    (docqueue-keys retention) and the deployment's; None when that is the deployment's."""
    deployment = services.settings.retention_s
    stored = await services.redis.hget(keys.TENANT_MAX_RETENTION, tenant)
    ceiling = min(deployment, int(stored)) if stored else deployment
    if ttl is None:
        return ceiling if ceiling < deployment else None
    value = ttl.strip()
    if not value.isdigit() or not MIN_TTL_S <= int(value) <= ceiling:
        raise ProblemError(
            422,
            ProblemCode.VALIDATION_ERROR,
            f"ttl_s must be whole seconds from {MIN_TTL_S} to {ceiling} (this tenant's retention)",
            errors=[
                {"loc": ["body", TTL_FIELD], "msg": f"between {MIN_TTL_S} and {ceiling}", "type": "range"}
            ],
        )
    return int(value) if int(value) < deployment else None


def parse_options(fields: dict[str, str], services: ApiServices) -> JobOptions:
    unknown = sorted(set(fields) - OPTION_FIELDS - OTHER_FIELDS)
    if unknown:
        raise ProblemError(
            422,
            ProblemCode.VALIDATION_ERROR,
            f"unknown form fields: {', '.join(unknown)}",
            errors=[
                {"loc": ["body", name], "msg": "unknown field", "type": "extra_forbidden"} for name in unknown
            ],
        )
    values = {
        "chunk_size": services.settings.default_chunk_size,
        "chunk_overlap": services.settings.default_chunk_overlap,
        "engine": services.settings.pdf_engine,
        "text_normalization": services.settings.text_normalization,
        "ocr": services.settings.ocr,
        "ocr_languages": services.settings.ocr_languages,
        "chunk_by": services.settings.chunk_by,
        **{name: value.strip() for name, value in fields.items() if name not in OTHER_FIELDS},
    }
    try:
        options = JobOptions.model_validate(values)
    except ValidationError as exc:
        errors = [
            {"loc": ["body", *map(str, err["loc"])], "msg": err["msg"], "type": err["type"]}
            for err in exc.errors(include_url=False, include_context=False)
        ]
        raise ProblemError(
            422, ProblemCode.VALIDATION_ERROR, "the upload options are not valid", errors=errors
        ) from exc
    check_ocr_languages(options.ocr_languages, services.settings.ocr_languages_installed)
    return options


def check_ocr_languages(languages: str, installed: frozenset[str]) -> None:
    """Every language of `eng+deu` is one the workers carry, or a 422 naming those."""
    unknown = [code for code in languages.split("+") if code not in installed]
    if unknown:
        raise ProblemError(
            422,
            ProblemCode.VALIDATION_ERROR,
            f"OCR language(s) {', '.join(unknown)} are not installed; installed: "
            f"{', '.join(sorted(installed))}",
            errors=[
                {"loc": ["body", "ocr_languages"], "msg": f"not installed: {code}", "type": "value_error"}
                for code in unknown
            ],
        )


def accepted(request: Request, task_id: str, state: JobState, *, deduplicated: bool) -> Accepted:
    links = task_links(request, task_id)
    return Accepted(
        task_id=task_id,
        state=state,
        status_url=links.status_url,
        result_url=links.result_url,
        events_url=links.events_url,
        deduplicated=deduplicated,
    )
