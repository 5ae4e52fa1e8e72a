"""What clients read about a batch."""

from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from pydantic import BaseModel, Field

from docqueue.jobs.batches import Batch, BatchState
from docqueue.jobs.model import JobState, Stage
from docqueue_api.tasks.schemas import DeliveryAttempt, Progress, TaskError


class BatchUrls(BaseModel):
    """A batch of URLs as JSON (`application/json`); files need multipart/form-data."""

    model_config = {"extra": "forbid"}

    urls: list[str] = Field(description="https URLs (or s3://bucket/key) the workers fetch, one member each")
    chunk_size: int | None = None
    chunk_overlap: int | None = None
    chunk_by: str | None = None
    engine: str | None = None
    text_normalization: str | None = None
    ocr: str | None = None
    ocr_languages: str | None = None
    callback_url: str | None = Field(default=None, description="Receives one signed POST when the batch ends")
    ttl_s: int | None = None

    def fields(self) -> dict[str, str]:
        """The options as an upload's form fields."""
        return {
            name: str(value) for name, value in self.model_dump(exclude={"urls"}).items() if value is not None
        }


class AcceptedMember(BaseModel):
    """A member as the batch was accepted: its task (new, or an existing one for a duplicate)."""

    index: int
    task_id: str
    filename: str
    source_url: str | None = None
    state: JobState
    deduplicated: bool
    # Set for a file the API could tell at once is no document (empty, or not a format it reads):
    # its task failed at submission.
    error: TaskError | None = None
    status_url: str


class BatchAccepted(BaseModel):
    """A batch just submitted: its id and its members' tasks, in the order they were sent (files
    first, then URLs)."""

    batch_id: str
    state: BatchState
    total: int
    status_url: str
    events_url: str
    members: list[AcceptedMember]


class Counts(BaseModel):
    """Members per state."""

    queued: int = 0
    running: int = 0
    retrying: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    dead_lettered: int = 0


class MemberView(BaseModel):
    """One member as it stands."""

    index: int
    task_id: str
    # null once the task expired (or was deleted) before its batch.
    state: JobState | None
    stage: Stage | None = None
    progress: Progress | None = None
    filename: str | None = None
    source_url: str | None = None
    error: TaskError | None = None
    status_url: str


class Members(BaseModel):
    """A page of a batch's members, in submission order; pass `next_cursor` as `cursor` for more."""

    items: list[MemberView]
    next_cursor: str | None


class BatchView(BaseModel):
    """A batch: `running` until every member ended, then `succeeded` when all succeeded, else
    `completed_with_errors`. `progress` sums the members' pages."""

    batch_id: str
    state: BatchState
    total: int
    counts: Counts
    progress: Progress
    created_at: datetime
    ended_at: datetime | None
    # When retention deletes the batch record: its retention after it ended, or after it was
    # created while it runs (its members keep their own).
    expires_at: datetime
    callback_url: str | None = None
    status_url: str
    events_url: str
    # Shown by GET /v1/batches/{batch_id}; null in lists and events.
    members: Members | None = None
    callback_deliveries: list[DeliveryAttempt] | None = None

    @classmethod
    def of(
        cls,
        batch: Batch,
        request: Request,
        members: Members | None = None,
        callback_deliveries: list[dict[str, Any]] | None = None,
    ) -> "BatchView":
        status_url = batch_url(request, batch.batch_id)
        return cls(
            batch_id=batch.batch_id,
            state=batch.state,
            total=batch.total,
            counts=Counts.model_validate({str(state): count for state, count in batch.counts.items()}),
            progress=Progress(
                pages_done=batch.pages_done, pages_total=batch.pages_total, percent=batch.percent
            ),
            created_at=_time(batch.created_at),
            ended_at=_time(batch.ended_at) if batch.ended_at else None,
            expires_at=_time(batch.expires_at()),
            callback_url=batch.callback_url,
            status_url=status_url,
            events_url=f"{status_url}/events",
            members=members,
            callback_deliveries=(
                None
                if callback_deliveries is None
                else [DeliveryAttempt.model_validate(item) for item in callback_deliveries]
            ),
        )


class MemberChange(BaseModel):
    """The member whose change an event reports."""

    task_id: str
    state: JobState
    pages_done: int
    pages_total: int


class BatchEvent(BatchView):
    """One event of a batch's stream: the batch after a member's change, and that member (null on
    the first event, which is the batch as it stands)."""

    member: MemberChange | None = None


class BatchPage(BaseModel):
    """One page of the caller's batches, newest first; pass `next_cursor` as `cursor` for the next."""

    items: list[BatchView]
    next_cursor: str | None


def batch_url(request: Request, batch_id: str) -> str:
    return str(request.url_for("batches_get", batch_id=batch_id))


def _time(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, tz=UTC)
