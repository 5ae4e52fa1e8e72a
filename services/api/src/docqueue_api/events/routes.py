"""GET /v1/tasks/{task_id}/events: Server-Sent Events for one task."""

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from docqueue.errors import ProblemCode
from docqueue.jobs.model import Job
from docqueue_api.dependencies import ReaderDep, ServicesDep
from docqueue_api.events.follow import RECONNECT_MS, Heartbeat, follow
from docqueue_api.events.source import STREAM_ID, TASK_EVENTS, StreamKind, T
from docqueue_api.problems import ProblemError, problem_responses
from docqueue_api.services import ApiServices
from docqueue_api.tasks.schemas import TaskView
from docqueue_api.tasks.service import find_task

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])

EVENT_NAME = "task"

_EVENT_STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            "`text/event-stream`. Each event is `event: task`, `id: <stream id>` and `data: <the task "
            "as GET /v1/tasks/{task_id} shows it>`; `: heartbeat` comments while nothing changes. "
            "Send the last id back as `Last-Event-ID` to resume."
        ),
        # One event of the stream, as OpenAPI 3.2's `itemSchema` (which FastAPI emits for an
        # EventSourceResponse and merges this into); `data` is the task's status as JSON.
        "content": {
            "text/event-stream": {
                "itemSchema": {
                    "type": "object",
                    "required": ["event", "data"],
                    "properties": {
                        "event": {"type": "string", "enum": [EVENT_NAME]},
                        "data": {
                            "type": "string",
                            "contentMediaType": "application/json",
                            "contentSchema": {"$ref": "#/components/schemas/TaskView"},
                        },
                        "id": {"type": "string"},
                        "retry": {"type": "integer", "minimum": 0},
                    },
                }
            }
        },
    }
}


async def _owned_job(task_id: str, services: ServicesDep, caller: ReaderDep) -> Job:
    # Checked before the stream starts, so another tenant's id is the same 404 as anywhere else.
    return await find_task(services.jobs, caller, task_id)


def resume_after(last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None) -> str | None:
    if last_event_id is None or last_event_id.strip() == "":
        return None
    if not STREAM_ID.match(last_event_id.strip()):
        raise ProblemError(
            400, ProblemCode.INVALID_LAST_EVENT_ID, "Last-Event-ID is not an id this stream sent"
        )
    return last_event_id.strip()


async def stream_slot(services: ServicesDep) -> AsyncIterator[None]:
    # Request-scoped: held until the response has finished streaming.
    async with services.events.slot():
        yield


@router.get(
    "/{task_id}/events",
    name="tasks_events",
    response_class=EventSourceResponse,
    responses={**_EVENT_STREAM_DOC, **problem_responses(400, 401, 403, 404, 503)},
)
async def get_task_events(
    request: Request,
    services: ServicesDep,
    job: Annotated[Job, Depends(_owned_job)],
    resume: Annotated[str | None, Depends(resume_after)],
    _slot: Annotated[None, Depends(stream_slot)],
) -> AsyncIterator[ServerSentEvent]:
    """The task's current state at once, then every change (stage, pages, retries) until it ends."""

    def encode(job: Job) -> str:
        return TaskView.of(job, request).model_dump_json(exclude={"callback_deliveries"})

    async for event in server_sent(services, TASK_EVENTS, job.task_id, resume, EVENT_NAME, encode):
        yield event


async def server_sent(
    services: ApiServices,
    kind: StreamKind[T],
    record_id: str,
    resume: str | None,
    event: str,
    encode: Callable[[T], str],
) -> AsyncIterator[ServerSentEvent]:
    """A record's stream (a task's, a batch's) as Server-Sent Events: `event` named, each with its
    stream id, the browser's reconnect delay on the first, heartbeat comments while idle."""
    settings = services.settings
    first = True
    async for item in follow(
        services.events, kind, record_id, resume, settings.sse_heartbeat_s, settings.sse_max_stream_s
    ):
        if isinstance(item, Heartbeat):
            yield ServerSentEvent(comment="heartbeat")
            continue
        yield ServerSentEvent(
            raw_data=encode(item.record), event=event, id=item.id, retry=RECONNECT_MS if first else None
        )
        first = False
