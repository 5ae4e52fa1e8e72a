"""/v1/batches: many files or URLs in one request, followed as one."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent

from docqueue.jobs.batches import Batch
from docqueue.media import MediaType
from docqueue_api.batches.reading import batch_view, cancel_batch, find_batch, list_batches
from docqueue_api.batches.receive import FILES_FIELD, URLS_FIELD
from docqueue_api.batches.schemas import (
    BatchAccepted,
    BatchEvent,
    BatchPage,
    BatchUrls,
    BatchView,
    MemberChange,
)
from docqueue_api.batches.service import submit_batch
from docqueue_api.dependencies import ReaderDep, ServicesDep, SubmitterDep
from docqueue_api.documents.routes import UPLOAD_OPTIONS
from docqueue_api.events.routes import resume_after, server_sent, stream_slot
from docqueue_api.events.source import BATCH_EVENTS, BatchChange
from docqueue_api.problems import problem_responses

router = APIRouter(prefix="/v1/batches", tags=["batches"])

EVENT_NAME = "batch"

_BATCH_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "encoding": {FILES_FIELD: {"contentType": ", ".join(MediaType)}},
            "schema": {
                "type": "object",
                "properties": {
                    FILES_FIELD: {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "description": "The documents, one `files` part each (any format an upload "
                        "takes); a part that is empty or no such format becomes a member that failed "
                        "at once (empty_document, unsupported_type)",
                    },
                    URLS_FIELD: {
                        "type": "string",
                        "contentMediaType": "application/json",
                        "description": 'A JSON list of source URLs, one member each: ["https://...", '
                        '"s3://bucket/key"]; the rules of an upload\'s source_url apply to each',
                    },
                    **UPLOAD_OPTIONS,
                    "callback_url": {
                        "type": "string",
                        "format": "uri",
                        "description": "https URL that receives one signed POST when the batch ends "
                        "(members send none of their own)",
                    },
                },
            },
        },
        "application/json": {"schema": BatchUrls.model_json_schema()},
    },
}


@router.post(
    "",
    name="batches_create",
    status_code=202,
    response_model=BatchAccepted,
    openapi_extra={"requestBody": _BATCH_BODY},
    responses={
        202: {
            "headers": {"Location": {"description": "The batch's status URL", "schema": {"type": "string"}}}
        },
        **problem_responses(400, 401, 403, 413, 415, 422, 429, 503),
    },
)
async def create_batch(
    request: Request,
    services: ServicesDep,
    caller: SubmitterDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    """Many documents in one request, with the same options: files (multipart `files` parts) and/or
    URLs (`urls`, or a JSON body), each an ordinary task. Answers at once, before any processing."""
    accepted = await submit_batch(request, services, caller, idempotency_key)
    return JSONResponse(
        accepted.model_dump(mode="json"), status_code=202, headers={"Location": accepted.status_url}
    )


@router.get(
    "", name="batches_list", response_model=BatchPage, responses=problem_responses(400, 401, 403, 422)
)
async def get_batches(
    request: Request,
    services: ServicesDep,
    caller: ReaderDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> BatchPage:
    """The caller's batches, newest first."""
    return await list_batches(services, request, caller, limit, cursor)


async def _owned_batch(batch_id: str, services: ServicesDep, caller: ReaderDep) -> Batch:
    return await find_batch(services, caller, batch_id)


@router.get(
    "/{batch_id}",
    name="batches_get",
    response_model=BatchView,
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def get_batch(
    request: Request,
    services: ServicesDep,
    batch: Annotated[Batch, Depends(_owned_batch)],
    limit: Annotated[int, Query(ge=1, le=1000, description="Members per page")] = 100,
    cursor: Annotated[str | None, Query(max_length=200, description="`members.next_cursor`")] = None,
) -> BatchView:
    """State, counts per state, pages over all members, and a page of the members."""
    return await batch_view(services, request, batch, limit, cursor)


@router.delete(
    "/{batch_id}",
    name="batches_cancel",
    response_model=BatchView,
    responses=problem_responses(401, 403, 404),
)
async def delete_batch(
    request: Request, services: ServicesDep, caller: SubmitterDep, batch_id: str
) -> BatchView:
    """Cancel every member that has not ended (queued work never runs, running work stops at its
    next page); members that ended keep their outcome."""
    batch = await find_batch(services, caller, batch_id)
    return BatchView.of(await cancel_batch(services, batch), request)


_EVENT_STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            "`text/event-stream`. Each event is `event: batch`, `id: <stream id>` and `data: <the batch "
            "after a member's change, and that member>`; the first is the batch as it stands. The stream "
            "ends after the batch ends. Send the last id back as `Last-Event-ID` to resume."
        ),
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
                            "contentSchema": {"$ref": "#/components/schemas/BatchEvent"},
                        },
                        "id": {"type": "string"},
                        "retry": {"type": "integer", "minimum": 0},
                    },
                }
            }
        },
    }
}


@router.get(
    "/{batch_id}/events",
    name="batches_events",
    response_class=EventSourceResponse,
    responses={**_EVENT_STREAM_DOC, **problem_responses(400, 401, 403, 404, 503)},
)
async def get_batch_events(
    request: Request,
    services: ServicesDep,
    batch: Annotated[Batch, Depends(_owned_batch)],
    resume: Annotated[str | None, Depends(resume_after)],
    _slot: Annotated[None, Depends(stream_slot)],
) -> AsyncIterator[ServerSentEvent]:
    """The batch at once, then every member change (state, pages) until the batch ends."""

    def encode(change: BatchChange) -> str:
        view = BatchView.of(change.batch, request)
        member = MemberChange.model_validate(change.member) if change.member else None
        event = BatchEvent(**view.model_dump(exclude={"members", "callback_deliveries"}), member=member)
        return event.model_dump_json(exclude={"members", "callback_deliveries"})

    async for event in server_sent(services, BATCH_EVENTS, batch.batch_id, resume, EVENT_NAME, encode):
        yield event
