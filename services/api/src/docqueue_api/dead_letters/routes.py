"""/v1/dead-letters: what the system gave up on, for admins of the tenant."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from docqueue_api.dead_letters.schemas import DeadLetterPage, DeadLetterView, Purged
from docqueue_api.dead_letters.service import (
    find_dead_letter,
    list_dead_letters,
    purge_all,
    purge_dead_letter,
    replay_dead_letter,
)
from docqueue_api.dependencies import AdminDep, ServicesDep
from docqueue_api.problems import problem_responses
from docqueue_api.tasks.schemas import TaskView

router = APIRouter(prefix="/v1/dead-letters", tags=["dead letters"])


@router.get(
    "",
    name="dead_letters_list",
    response_model=DeadLetterPage,
    responses=problem_responses(400, 401, 403, 422),
)
async def get_dead_letters(
    services: ServicesDep,
    caller: AdminDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=50)] = None,
) -> DeadLetterPage:
    """The tenant's dead letters, newest first."""
    letters, next_cursor = await list_dead_letters(services.redis, caller, limit, cursor)
    return DeadLetterPage(items=[DeadLetterView.of(letter) for letter in letters], next_cursor=next_cursor)


@router.get(
    "/{task_id}",
    name="dead_letters_get",
    response_model=DeadLetterView,
    responses=problem_responses(401, 403, 404),
)
async def get_dead_letter(task_id: str, services: ServicesDep, caller: AdminDep) -> DeadLetterView:
    """One dead letter: error, traceback, arguments and attempt history."""
    return DeadLetterView.of(await find_dead_letter(services.redis, caller, task_id))


@router.post(
    "/{task_id}/replay",
    name="dead_letters_replay",
    status_code=202,
    response_model=TaskView,
    responses=problem_responses(401, 403, 404, 409, 410),
)
async def replay(task_id: str, request: Request, services: ServicesDep, caller: AdminDep) -> TaskView:
    """Queue the task again (same task id); its attempt history is kept."""
    return TaskView.of(await replay_dead_letter(services, caller, task_id), request)


@router.delete(
    "/{task_id}",
    name="dead_letters_delete",
    response_model=Purged,
    responses=problem_responses(401, 403, 404),
)
async def purge_one(task_id: str, services: ServicesDep, caller: AdminDep) -> Purged:
    """Forget one dead letter (the task stays `dead_lettered`)."""
    await purge_dead_letter(services.redis, caller, task_id)
    return Purged(purged=1)


@router.delete("", name="dead_letters_purge", response_model=Purged, responses=problem_responses(401, 403))
async def purge(services: ServicesDep, caller: AdminDep) -> Purged:
    """Forget every dead letter of the tenant."""
    return Purged(purged=await purge_all(services.redis, caller))
