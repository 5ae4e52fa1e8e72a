"""What clients read about a task."""

from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from pydantic import BaseModel

from docqueue.jobs.model import Job, JobState, Stage
from docqueue_api.links import task_links


class Progress(BaseModel):
    pages_done: int
    pages_total: int
    percent: float


class Parts(BaseModel):
    """A large document processed as page-range parts: how many, and how many are read."""

    total: int
    done: int


class TaskError(BaseModel):
    code: str
    message: str
    retryable: bool

    @classmethod
    def of(cls, job: Job) -> "TaskError | None":
        """What went wrong with a job that did not succeed (set while it retries, too)."""
        if job.error_code is None or job.state == JobState.SUCCEEDED:
            return None
        return cls(code=job.error_code, message=job.error_message or "", retryable=job.error_retryable)


class DeliveryAttempt(BaseModel):
    """One attempt to deliver the task's callback (see README "Webhooks")."""

    event_id: str
    attempt: int
    at: datetime
    outcome: str  # delivered | retrying | failed | refused | gave_up
    status_code: int | None = None
    error: str | None = None
    duration_ms: int | None = None


class TaskView(BaseModel):
    """A task as clients see it. `error` is set while retrying and once failed or given up."""

    task_id: str
    state: JobState
    stage: Stage
    progress: Progress
    attempts: int
    error: TaskError | None
    filename: str
    media_type: str
    size_bytes: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    status_url: str
    result_url: str
    events_url: str
    callback_url: str | None = None
    # Where the worker fetches the document (a task submitted with `source_url`); its
    # media_type, size_bytes are known once it was fetched.
    source_url: str | None = None
    # Set once succeeded: "no_text_found", "ocr_low_confidence" (the result carries them too).
    warnings: list[str] = []
    # When retention deletes the task, its result and its upload: its retention (the upload's
    # `ttl_s`, else the tenant's or the deployment's) after it ended, or after it was created
    # while it runs.
    expires_at: datetime | None = None
    # Set once DELETE /v1/tasks/{task_id}/result removed the result and the upload.
    result_deleted_at: datetime | None = None
    # Set when the document was split into page-range parts (DOCQUEUE_SPLIT_MIN_PAGES pages or more).
    parts: Parts | None = None
    # Shown by GET /v1/tasks/{task_id}; null where it is not read (lists, events).
    callback_deliveries: list[DeliveryAttempt] | None = None

    @classmethod
    def of(
        cls, job: Job, request: Request, callback_deliveries: list[dict[str, Any]] | None = None
    ) -> "TaskView":
        links = task_links(request, job.task_id)
        return cls(
            task_id=job.task_id,
            state=job.state,
            stage=job.stage,
            progress=Progress(pages_done=job.pages_done, pages_total=job.pages_total, percent=job.percent),
            attempts=job.attempts,
            error=TaskError.of(job),
            filename=job.filename,
            media_type=job.media_type,
            size_bytes=job.size_bytes,
            created_at=datetime.fromtimestamp(job.created_at, tz=UTC),
            started_at=_time(job.started_at),
            finished_at=_time(job.finished_at),
            status_url=links.status_url,
            result_url=links.result_url,
            events_url=links.events_url,
            callback_url=job.callback_url,
            source_url=job.source_url,
            warnings=job.warning_list,
            expires_at=datetime.fromtimestamp(job.expires_at(_retention_s(request)), tz=UTC),
            result_deleted_at=_time(job.result_deleted_at),
            parts=Parts(total=job.parts_total, done=job.parts_done) if job.parts_total else None,
            callback_deliveries=(
                None
                if callback_deliveries is None
                else [DeliveryAttempt.model_validate(item) for item in callback_deliveries]
            ),
        )


class TaskPage(BaseModel):
    """One page of the caller's tasks, newest first; pass `next_cursor` as `cursor` for the next."""

    items: list[TaskView]
    next_cursor: str | None


def _retention_s(request: Request) -> int:
    retention_s: int = request.app.state.services.settings.retention_s
    return retention_s


def _time(epoch_s: float | None) -> datetime | None:
    return None if epoch_s is None else datetime.fromtimestamp(epoch_s, tz=UTC)
