"""Dead letters of the caller's tenant: list, show, replay, purge."""

import re
import time

import anyio
import redis.asyncio as aioredis

from docqueue.dead_letters import DeadLetter
from docqueue.errors import ProblemCode
from docqueue.jobs import keys
from docqueue.jobs.commands import Update
from docqueue.jobs.model import Job, JobState, Stage
from docqueue.lanes import publish_document
from docqueue.text import as_text
from docqueue_api.auth import Caller
from docqueue_api.problems import ProblemError
from docqueue_api.services import ApiServices

_ENTRY_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
# Entries read per list request while filtering by tenant, so a page stays cheap.
SCAN_LIMIT = 2000


def _not_found() -> ProblemError:
    return ProblemError(404, ProblemCode.DEAD_LETTER_NOT_FOUND, "no such dead letter")


async def list_dead_letters(
    client: aioredis.Redis, caller: Caller, limit: int, cursor: str | None
) -> tuple[list[DeadLetter], str | None]:
    if cursor is not None and not _ENTRY_ID.match(cursor):
        raise ProblemError(400, ProblemCode.INVALID_CURSOR, "the cursor is not valid")
    found: list[DeadLetter] = []
    upper = f"({cursor}" if cursor else "+"
    scanned = 0
    last: str | None = None
    while len(found) < limit and scanned < SCAN_LIMIT:
        rows = await client.xrevrange(keys.DEAD_LETTERS, upper, "-", count=limit * 4) or []
        if not rows:
            return found, None
        for entry_id, fields in rows:
            scanned += 1
            last = as_text(entry_id)
            letter = DeadLetter.from_entry(entry_id, fields)
            if letter.tenant == caller.tenant:
                found.append(letter)
                if len(found) == limit:
                    break
        upper = f"({last}"
    return found, last


async def find_dead_letter(client: aioredis.Redis, caller: Caller, task_id: str) -> DeadLetter:
    entry_id = await client.hget(keys.DEAD_LETTER_INDEX, task_id)
    if entry_id is None:
        raise _not_found()
    rows = await client.xrange(keys.DEAD_LETTERS, entry_id, entry_id) or []
    if not rows:
        raise _not_found()
    letter = DeadLetter.from_entry(*rows[0])
    if letter.tenant != caller.tenant:
        raise _not_found()
    return letter


async def replay_dead_letter(services: ApiServices, caller: Caller, task_id: str) -> Job:
    """Queue the job again under the same task id; its history is kept, its attempts restart."""
    letter = await find_dead_letter(services.redis, caller, task_id)
    job = await services.jobs.get(task_id)
    if job is not None and job.result_deleted_at is not None:
        raise ProblemError(
            410, ProblemCode.RESULT_DELETED, "the upload was deleted on request: nothing to replay"
        )
    result = await services.jobs.update(
        Update(
            task_id=task_id,
            now=time.time(),
            from_states={JobState.DEAD_LETTERED},
            set={"state": JobState.QUEUED, "stage": Stage.QUEUED, "pages_done": 0, "attempts": 0},
            unset=("error_code", "error_message", "finished_at", "result_key"),
            history={"event": "replayed", "dead_letter": letter.entry_id},
        )
    )
    if result.job is None:
        raise ProblemError(404, ProblemCode.TASK_NOT_FOUND, "the task behind this dead letter has expired")
    if not result.ok:
        raise ProblemError(
            409, ProblemCode.TASK_NOT_DEAD_LETTERED, f"the task is {result.job.state}, not dead_lettered"
        )
    await _delete(services.redis, letter)
    job = result.job
    await anyio.to_thread.run_sync(
        lambda: publish_document(services.celery, job, services.settings, retry=False)
    )
    return result.job


async def purge_dead_letter(client: aioredis.Redis, caller: Caller, task_id: str) -> None:
    await _delete(client, await find_dead_letter(client, caller, task_id))


async def purge_all(client: aioredis.Redis, caller: Caller) -> int:
    purged = 0
    cursor: str | None = None
    while True:
        letters, cursor = await list_dead_letters(client, caller, 100, cursor)
        for letter in letters:
            await _delete(client, letter)
            purged += 1
        if cursor is None or not letters:
            return purged


async def _delete(client: aioredis.Redis, letter: DeadLetter) -> None:
    async with client.pipeline(transaction=True) as pipe:
        pipe.xdel(keys.DEAD_LETTERS, letter.entry_id)
        pipe.hdel(keys.DEAD_LETTER_INDEX, letter.task_id)
        await pipe.execute()
