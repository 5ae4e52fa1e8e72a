"""The webhooks docqueue sends, described in the OpenAPI document's `webhooks` section (3.1): what a
receiver gets when a task with a `callback_url` ends, and when a batch with one ends.
docqueue.webhooks.build_event and build_batch_event write the bodies; tests/api/test_openapi.py
holds them to these models."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import FastAPI, Header
from pydantic import BaseModel, ConfigDict

from docqueue.webhooks import EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER
from docqueue_api.batches.schemas import Counts
from docqueue_api.tasks.schemas import Progress, TaskError

EventType = Literal["task.succeeded", "task.failed", "task.cancelled", "task.dead_lettered"]


class WebhookTask(BaseModel):
    """The task as `GET /v1/tasks/{task_id}` shows it when it ended (without its delivery log)."""

    model_config = ConfigDict(extra="forbid")

    task_id: str
    state: Literal["succeeded", "failed", "cancelled", "dead_lettered"]
    stage: str
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


class WebhookEvent(BaseModel):
    """One event; `id` stays the same across retries of its delivery (dedupe on it)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    type: EventType
    created_at: datetime
    task: WebhookTask


BatchEventType = Literal["batch.succeeded", "batch.completed_with_errors"]


class WebhookBatch(BaseModel):
    """The batch as `GET /v1/batches/{batch_id}` shows it when it ended (without its members)."""

    model_config = ConfigDict(extra="forbid")

    batch_id: str
    state: Literal["succeeded", "completed_with_errors"]
    total: int
    counts: Counts
    progress: Progress
    created_at: datetime
    ended_at: datetime
    status_url: str


class BatchWebhookEvent(BaseModel):
    """The one event of a batch; `id` stays the same across retries of its delivery."""

    model_config = ConfigDict(extra="forbid")

    id: str
    type: BatchEventType
    created_at: datetime
    batch: WebhookBatch


SIGNATURE = (
    '`t=<unix seconds>,v1=<hex HMAC-SHA256(DOCQUEUE_WEBHOOK_SECRET, "<t>." + raw body)>`; verify it on '
    "the raw bytes before parsing and refuse timestamps older than 300 s. Several `v1` values may "
    "appear while the secret is rotated: any may match."
)


def install_webhooks(app: FastAPI) -> None:
    @app.webhooks.post(
        "task-finished",
        operation_id="webhooks_task_finished",
        name="webhooks_task_finished",
        tags=["webhooks"],
        status_code=204,
        responses={204: {"description": "Any 2xx is delivered; 408, 425, 429, 5xx and failures are retried"}},
    )
    def task_finished(
        event: WebhookEvent,
        signature: Annotated[str, Header(alias=SIGNATURE_HEADER, description=SIGNATURE)],
        event_id: Annotated[str, Header(alias=EVENT_ID_HEADER, description="The body's `id`")],
        event_type: Annotated[EventType, Header(alias=EVENT_TYPE_HEADER, description="The body's `type`")],
    ) -> None:
        """docqueue POSTs this to the upload's `callback_url` when the task ends (succeeded, failed,
        cancelled or dead-lettered), from a worker on the webhooks queue, at least once."""

    @app.webhooks.post(
        "batch-finished",
        operation_id="webhooks_batch_finished",
        name="webhooks_batch_finished",
        tags=["webhooks"],
        status_code=204,
        responses={204: {"description": "Any 2xx is delivered; 408, 425, 429, 5xx and failures are retried"}},
    )
    def batch_finished(
        event: BatchWebhookEvent,
        signature: Annotated[str, Header(alias=SIGNATURE_HEADER, description=SIGNATURE)],
        event_id: Annotated[str, Header(alias=EVENT_ID_HEADER, description="The body's `id`")],
        event_type: Annotated[
            BatchEventType, Header(alias=EVENT_TYPE_HEADER, description="The body's `type`")
        ],
    ) -> None:
        """docqueue POSTs this to the batch's `callback_url` once, when its last member ended, at
        least once (a member replayed from the dead letters reopens the batch; its next end is a
        new event)."""
