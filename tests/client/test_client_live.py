"""The Python client, sync and async, against the running API and a real worker."""

import asyncio
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from docqueue_client import (
    AsyncClient,
    AuthError,
    Client,
    Conflict,
    Gone,
    InvalidRequest,
    NotFound,
    TaskStatus,
    UnsupportedType,
)
from tests.conftest import KeyMaker
from tests.support.documents import corrupt_pdf, make_pdf
from tests.support.held_jobs import hold_job

FileMaker = Callable[[str, bytes], Path]


def test_submit_then_wait_live_then_result(api_url: str, make_key: KeyMaker, tmp_file: FileMaker) -> None:
    seen: list[TaskStatus] = []
    with Client(api_url, make_key()) as dq:
        task = dq.submit(tmp_file("report.pdf", make_pdf(40)), chunk_size=400, chunk_overlap=40)
        assert task.accepted.events_url.endswith(f"/v1/tasks/{task.task_id}/events")
        final = task.wait(on_progress=seen.append, timeout_s=60)
        result = task.result()
        assert task.status().state == "succeeded"
    assert final.succeeded
    assert (final.pages_done, final.pages_total, final.percent) == (40, 40, 100.0)
    assert len(result["pages"]) == 40
    assert all(len(chunk["text"]) <= 400 for chunk in result["chunks"])
    percents = [status.percent for status in seen]
    assert percents == sorted(percents)
    assert seen[-1] == final
    # on_progress is called on changes only.
    keys = [status.progress_key for status in seen]
    assert all(a != b for a, b in itertools.pairwise(keys))


def test_polling_gives_the_same_final_status(api_url: str, make_key: KeyMaker, tmp_file: FileMaker) -> None:
    with Client(api_url, make_key()) as dq:
        task = dq.submit(tmp_file("notes.md", b"# Notes\n\nsome text\n"))
        final = task.wait(use_events=False, timeout_s=60)
    assert final.succeeded
    assert final.pages_total == 1


def test_typed_errors(api_url: str, make_key: KeyMaker, tmp_file: FileMaker, redis_url: str) -> None:
    key = make_key("t-client-errors")
    with Client(api_url, key) as dq:
        with pytest.raises(NotFound) as missing:
            dq.task("0" * 32).status()
        assert missing.value.code == "task_not_found"
        with pytest.raises(UnsupportedType):
            dq.submit(tmp_file("blob.pdf", bytes(range(256)) * 4))
        with pytest.raises(InvalidRequest) as invalid:
            dq.submit(tmp_file("a.md", b"# a\n"), chunk_size=10)
        assert invalid.value.problem["errors"]
        held = dq.task(hold_job(redis_url, "t-client-errors").task_id)
        with pytest.raises(Conflict) as early:
            held.result()
        assert early.value.code == "task_not_succeeded"
        assert held.cancel().state == "cancelled"
        assert held.wait(timeout_s=10).state == "cancelled"
    with Client(api_url, "dq_wrong") as anonymous, pytest.raises(AuthError):
        anonymous.list()


def test_a_failed_document_ends_the_wait_with_its_error(
    api_url: str, make_key: KeyMaker, tmp_file: FileMaker
) -> None:
    with Client(api_url, make_key()) as dq:
        final = dq.submit(tmp_file("bad.pdf", corrupt_pdf())).wait(timeout_s=60)
    assert final.state == "failed"
    assert final.error is not None
    assert final.error["code"] == "corrupt_document"


def test_async_client_follows_several_tasks_at_once(
    api_url: str, make_key: KeyMaker, tmp_file: FileMaker, redis_client: redis.Redis
) -> None:
    paths = [tmp_file(f"doc{i}.pdf", make_pdf(5 + i)) for i in range(3)]
    progress: dict[str, list[float]] = {}

    async def main() -> list[Any]:
        async with AsyncClient(api_url, make_key()) as dq:
            tasks = await asyncio.gather(*(dq.submit(path) for path in paths))

            async def follow(task: Any) -> Any:
                async def record(status: TaskStatus) -> None:
                    progress.setdefault(task.task_id, []).append(status.percent)

                final = await task.wait(on_progress=record, timeout_s=60)
                return final, len((await task.result())["pages"])

            return await asyncio.gather(*(follow(task) for task in tasks))

    outcomes = asyncio.run(main())
    assert [(final.state, pages) for final, pages in outcomes] == [
        ("succeeded", 5),
        ("succeeded", 6),
        ("succeeded", 7),
    ]
    assert all(values[-1] == 100.0 for values in progress.values())


def test_submit_with_wait_s_comes_back_finished(
    api_url: str, make_key: KeyMaker, tmp_file: FileMaker
) -> None:
    seen: list[TaskStatus] = []
    with Client(api_url, make_key()) as dq:
        task = dq.submit(tmp_file("quick.pdf", make_pdf(1)), wait_s=30)
        assert task.finished is not None
        assert task.finished.succeeded
        # wait() makes no request: the answer already held the final status.
        assert task.wait(on_progress=seen.append) == task.finished
        broken = dq.submit(tmp_file("broken.pdf", corrupt_pdf()), wait_s=30)
        assert broken.finished is not None
        assert broken.finished.state == "failed"
    assert seen == [task.finished]


def test_async_submit_with_wait_s_comes_back_finished(
    api_url: str, make_key: KeyMaker, tmp_file: FileMaker
) -> None:
    async def go() -> TaskStatus | None:
        async with AsyncClient(api_url, make_key()) as dq:
            task = await dq.submit(tmp_file("quick-async.pdf", make_pdf(1, title="async")), wait_s=30)
            assert task.finished is not None
            assert await task.wait() == task.finished
            return task.finished

    final = asyncio.run(go())
    assert final is not None
    assert final.succeeded


def test_ttl_s_and_delete_result(api_url: str, make_key: KeyMaker, tmp_file: FileMaker) -> None:
    with Client(api_url, make_key()) as dq:
        task = dq.submit(tmp_file("brief.pdf", make_pdf(1, title="brief")), ttl_s=900, wait_s=30)
        assert task.finished is not None
        assert task.finished.succeeded
        deleted = dq.delete_result(task.task_id)
        assert deleted.state == "succeeded"
        with pytest.raises(Gone) as gone:
            task.result()
    assert gone.value.code == "result_deleted"
