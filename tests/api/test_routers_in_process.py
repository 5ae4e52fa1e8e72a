"""Each router against `create_app` in this process (httpx's ASGI transport, the app's own
lifespan) on a real Redis database of its own: no subprocess stack and no worker, so each case
costs milliseconds. What needs a worker or real sockets stays in the subprocess suites."""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import redis

from docqueue import names
from docqueue.auth import Scope
from docqueue.errors import ErrorCode
from docqueue.jobs.commands import Update
from docqueue.jobs.model import JobState
from docqueue.jobs.store import JobStore
from docqueue_api.app import create_app
from docqueue_api.settings import ApiSettings
from tests.support.documents import make_pdf
from tests.support.held_jobs import hold_job
from tests.support.keys import tenant_key
from tests.support.stacks import other_database

# A database of this module's own: no worker of the suite listens to its queue.
DB = 7
Scenario = Callable[[httpx.AsyncClient], Awaitable[Any]]


@pytest.fixture(scope="module")
def db_url(redis_url: str) -> Iterator[str]:
    url = other_database(redis_url, DB)
    yield url
    redis.Redis.from_url(url).flushdb()


@pytest.fixture(scope="module")
def settings(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> ApiSettings:
    blobs = tmp_path_factory.mktemp("in-process-blobs")
    return ApiSettings(redis_url=db_url, storage_url=f"file://{blobs}", rate_limit_per_s=0)


def in_app(settings: ApiSettings, key: str, scenario: Scenario) -> Any:
    """Run `scenario` against a fresh app with its lifespan (services up, then closed)."""
    app = create_app(settings)

    async def main() -> Any:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            headers = {"Authorization": f"Bearer {key}"}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://dq.test", headers=headers
            ) as client:
                return await scenario(client)

    return asyncio.run(main())


def key_for(db_url: str, scopes: set[Scope] | None = None) -> tuple[str, str]:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    return tenant, tenant_key(redis.Redis.from_url(db_url), tenant, scopes or set(Scope))


def test_documents_upload_queues_one_message_and_answers_at_once(settings: ApiSettings, db_url: str) -> None:
    _, key = key_for(db_url)
    client = redis.Redis.from_url(db_url)
    before = client.llen(names.DOCUMENTS_QUEUE)

    async def scenario(api: httpx.AsyncClient) -> httpx.Response:
        files = {"file": ("one.pdf", make_pdf(1, title=uuid.uuid4().hex), "application/pdf")}
        return await api.post("/v1/documents", files=files, data={"chunk_size": "300"})

    answer = in_app(settings, key, scenario)
    assert answer.status_code == 202, answer.text
    assert answer.json()["state"] == "queued"
    assert answer.headers["Location"] == answer.json()["status_url"]
    assert client.llen(names.DOCUMENTS_QUEUE) == before + 1


def test_documents_upload_refuses_bad_input_with_problems(settings: ApiSettings, db_url: str) -> None:
    _, key = key_for(db_url)

    async def scenario(api: httpx.AsyncClient) -> list[httpx.Response]:
        return [
            await api.post("/v1/documents", files={"file": ("x.bin", bytes(range(256)), "application/pdf")}),
            await api.post("/v1/documents", files={"file": ("a.pdf", make_pdf(1))}, data={"chunk_size": "1"}),
            await api.post("/v1/documents", files={"chunk_size": (None, "300")}),
        ]

    unsupported, invalid, missing = in_app(settings, key, scenario)
    assert (unsupported.status_code, unsupported.json()["code"]) == (415, "unsupported_media_type")
    assert (invalid.status_code, invalid.json()["code"]) == (422, "validation_error")
    assert (missing.status_code, missing.json()["code"]) == (422, "missing_file")
    for answer in (unsupported, invalid, missing):
        assert answer.headers["content-type"] == "application/problem+json"


def test_tasks_get_list_cancel_and_result(settings: ApiSettings, db_url: str) -> None:
    tenant, key = key_for(db_url)
    held = hold_job(db_url, tenant)

    async def scenario(api: httpx.AsyncClient) -> dict[str, httpx.Response]:
        return {
            "get": await api.get(f"/v1/tasks/{held.task_id}"),
            "list": await api.get("/v1/tasks", params={"state": "queued"}),
            "early result": await api.get(f"/v1/tasks/{held.task_id}/result"),
            "early delete": await api.delete(f"/v1/tasks/{held.task_id}/result"),
            "cancel": await api.delete(f"/v1/tasks/{held.task_id}"),
            "cancel again": await api.delete(f"/v1/tasks/{held.task_id}"),
            "events": await api.get(f"/v1/tasks/{held.task_id}/events"),
            "unknown": await api.get(f"/v1/tasks/{uuid.uuid4().hex}"),
        }

    answers = in_app(settings, key, scenario)
    assert answers["get"].json()["state"] == "queued"
    assert [item["task_id"] for item in answers["list"].json()["items"]] == [held.task_id]
    assert answers["early result"].status_code == 409
    assert answers["early delete"].json()["code"] == "task_not_finished"
    assert answers["cancel"].status_code == 202
    assert answers["cancel"].json()["state"] == "cancelled"
    assert answers["cancel again"].json()["state"] == "cancelled"
    # The stream of a finished task: its state, then the end.
    assert "event: task" in answers["events"].text
    assert '"state":"cancelled"' in answers["events"].text.replace(" ", "")
    assert answers["unknown"].json()["code"] == "task_not_found"


def test_another_tenant_sees_nothing(settings: ApiSettings, db_url: str) -> None:
    owner, _ = key_for(db_url)
    held = hold_job(db_url, owner)
    _, stranger = key_for(db_url)

    async def scenario(api: httpx.AsyncClient) -> list[int]:
        paths = [
            f"/v1/tasks/{held.task_id}",
            f"/v1/tasks/{held.task_id}/result",
            f"/v1/tasks/{held.task_id}/events",
        ]
        return [(await api.get(path)).status_code for path in paths] + [
            (await api.delete(f"/v1/tasks/{held.task_id}")).status_code
        ]

    assert in_app(settings, stranger, scenario) == [404, 404, 404, 404]


def test_dead_letters_list_get_replay_and_purge(settings: ApiSettings, db_url: str) -> None:
    tenant, admin = key_for(db_url)
    held = hold_job(db_url, tenant)
    store = JobStore(redis.Redis.from_url(db_url), settings.retention_s)
    now = time.time()
    dead = store.update(
        Update(
            task_id=held.task_id, now=now, from_states={JobState.QUEUED}, terminal=True,
            set={"state": JobState.DEAD_LETTERED, "error_code": ErrorCode.TIMEOUT,
                 "error_message": "too slow", "finished_at": now},
            history={"event": "dead_lettered"},
            dead_letter={"task_name": names.PROCESS_DOCUMENT, "error_code": ErrorCode.TIMEOUT,
                         "error_message": "too slow", "traceback": "", "args": "[]"},
        )
    )  # fmt: skip
    assert dead.ok
    other = hold_job(db_url, tenant)
    _, reader = key_for(db_url, {Scope.SUBMIT, Scope.READ})

    async def scenario(api: httpx.AsyncClient) -> dict[str, httpx.Response]:
        return {
            "list": await api.get("/v1/dead-letters"),
            "get": await api.get(f"/v1/dead-letters/{held.task_id}"),
            "not dead": await api.post(f"/v1/dead-letters/{other.task_id}/replay"),
            "replay": await api.post(f"/v1/dead-letters/{held.task_id}/replay"),
            "gone": await api.get(f"/v1/dead-letters/{held.task_id}"),
            "purge": await api.delete("/v1/dead-letters"),
        }

    answers = in_app(settings, admin, scenario)
    assert [item["task_id"] for item in answers["list"].json()["items"]] == [held.task_id]
    assert answers["get"].json()["error_code"] == "timeout"
    assert answers["not dead"].status_code == 404
    assert answers["replay"].status_code == 202
    assert answers["replay"].json()["state"] == "queued"
    assert answers["gone"].status_code == 404
    assert answers["purge"].json() == {"purged": 0}

    async def as_reader(api: httpx.AsyncClient) -> int:
        return (await api.get("/v1/dead-letters")).status_code

    assert in_app(settings, reader, as_reader) == 403


def test_health_answers_without_a_key(settings: ApiSettings) -> None:
    async def scenario(api: httpx.AsyncClient) -> list[httpx.Response]:
        return [await api.get("/healthz"), await api.get("/readyz"), await api.get("/openapi.json")]

    live, ready, document = in_app(settings, "", scenario)
    assert live.json() == {"status": "ok"}
    assert ready.json() == {"status": "ready"}
    assert document.json()["paths"]["/v1/documents"]["post"]["operationId"] == "documents_upload"


def test_a_prefer_wait_with_no_worker_comes_back_202_after_the_wait(
    settings: ApiSettings, db_url: str
) -> None:
    _, key = key_for(db_url)

    async def scenario(api: httpx.AsyncClient) -> httpx.Response:
        files = {"file": ("w.pdf", make_pdf(1, title=uuid.uuid4().hex), "application/pdf")}
        return await api.post("/v1/documents", files=files, headers={"Prefer": "wait=1"})

    answer = in_app(settings, key, scenario)
    assert answer.status_code == 202
    assert answer.headers["Preference-Applied"] == "wait=1"


def test_blob_storage_is_where_the_settings_say(settings: ApiSettings, db_url: str) -> None:
    _, key = key_for(db_url)

    async def scenario(api: httpx.AsyncClient) -> str:
        files = {"file": ("b.pdf", make_pdf(1, title=uuid.uuid4().hex), "application/pdf")}
        task_id: str = (await api.post("/v1/documents", files=files)).json()["task_id"]
        return task_id

    task_id = in_app(settings, key, scenario)
    root = Path(urlsplit(settings.storage_url).path)
    assert [path.name for path in root.rglob("*") if task_id in path.name]
