"""GET/DELETE /v1/tasks/...: status, result, cancel and the caller's list."""

from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request, Response

from docqueue.errors import ProblemCode
from docqueue.jobs.model import JobState
from docqueue.results import Result
from docqueue.storage import BlobNotFound
from docqueue.webhooks import attempts_key, parse_attempts
from docqueue_api.dependencies import ReaderDep, ServicesDep, SubmitterDep
from docqueue_api.problems import ProblemError, problem_responses
from docqueue_api.tasks.schemas import TaskPage, TaskView
from docqueue_api.tasks.service import cancel_task, delete_result, find_task, list_tasks

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])


@router.get("", name="tasks_list", response_model=TaskPage, responses=problem_responses(400, 401, 403, 422))
async def get_tasks(
    request: Request,
    services: ServicesDep,
    caller: ReaderDep,
    state: JobState | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> TaskPage:
    """The caller's tasks, newest first."""
    jobs, next_cursor = await list_tasks(services.jobs, caller, state, limit, cursor)
    return TaskPage(items=[TaskView.of(job, request) for job in jobs], next_cursor=next_cursor)


@router.get(
    "/{task_id}", name="tasks_get", response_model=TaskView, responses=problem_responses(401, 403, 404)
)
async def get_task(task_id: str, request: Request, services: ServicesDep, caller: ReaderDep) -> TaskView:
    """State, stage, progress, attempts and error of one task."""
    job = await find_task(services.jobs, caller, task_id)
    deliveries = (
        parse_attempts(await services.redis.lrange(attempts_key(task_id), 0, -1))
        if job.callback_url
        else None
    )
    return TaskView.of(job, request, deliveries)


@router.get(
    "/{task_id}/result",
    name="tasks_result",
    responses={
        200: {"model": Result, "description": "Document metadata, pages and chunks"},
        **problem_responses(401, 403, 404, 409, 410),
    },
)
async def get_task_result(task_id: str, services: ServicesDep, caller: ReaderDep) -> Response:
    """The stored result; `409` until the task has succeeded."""
    job = await find_task(services.jobs, caller, task_id)
    if job.result_deleted_at is not None:
        raise ProblemError(
            410, ProblemCode.RESULT_DELETED, "the result and the upload were deleted on request"
        )
    if job.state != JobState.SUCCEEDED or job.result_key is None:
        raise ProblemError(409, ProblemCode.TASK_NOT_SUCCEEDED, f"the task is {job.state}, not succeeded")
    try:
        # Served as stored: the worker validated it against the Result model when writing it.
        body = await anyio.to_thread.run_sync(services.blobs.get, job.result_key)
    except BlobNotFound as exc:
        raise ProblemError(404, ProblemCode.RESULT_EXPIRED, "the result is no longer stored") from exc
    return Response(body, media_type="application/json")


@router.delete(
    "/{task_id}/result",
    name="tasks_result_delete",
    response_model=TaskView,
    responses=problem_responses(401, 403, 404, 409, 503),
)
async def delete_task_result(
    task_id: str, request: Request, services: ServicesDep, caller: SubmitterDep
) -> TaskView:
    """Delete a finished task's result and its uploaded document now, before retention would;
    the status stays (with `result_deleted_at`) until then, and the result answers `410`."""
    job = await find_task(services.jobs, caller, task_id)
    return TaskView.of(await delete_result(services, job), request)


@router.delete(
    "/{task_id}",
    name="tasks_cancel",
    status_code=202,
    response_model=TaskView,
    responses=problem_responses(401, 403, 404, 409),
)
async def delete_task(
    task_id: str, request: Request, services: ServicesDep, caller: SubmitterDep
) -> TaskView:
    """Cancel: a queued task never runs, a running one stops at its next page."""
    job = await find_task(services.jobs, caller, task_id)
    return TaskView.of(await cancel_task(services.jobs, job, services.on_terminal), request)
