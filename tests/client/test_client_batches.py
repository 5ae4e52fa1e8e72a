"""Batches from the Python client and the CLI, against a running stack that may fetch sources."""

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

from docqueue_client import AsyncClient, BatchStatus, Client
from tests.client.test_cli import run_cli
from tests.support.documents import corrupt_pdf, make_pdf
from tests.support.source_server import SourceServer
from tests.support.stacks import DatabaseStack


def test_the_python_client_submits_and_follows_a_batch(
    fetching: DatabaseStack, source_server: SourceServer, tmp_path: Path
) -> None:
    paths = []
    for i in range(3):
        path = tmp_path / f"part-{i}.pdf"
        path.write_bytes(make_pdf(2, title=f"client batch {uuid.uuid4().hex}"))
        paths.append(path)
    url = source_server.put(f"/{uuid.uuid4().hex}/remote.pdf", make_pdf(1))
    seen: list[BatchStatus] = []
    with Client(fetching.api_url, api_key=fetching.key()) as dq:
        batch = dq.batches.submit(paths, urls=[url], chunk_size=400, chunk_overlap=0)
        assert len(batch.task_ids) == 4
        final = batch.wait(on_progress=seen.append, timeout_s=60)
        members = list(batch.members())
        listed, _ = dq.batches.list()
    assert final.state == "succeeded"
    assert (final.done, final.total, final.pages_done) == (4, 4, 7)
    assert seen[-1] == final or seen[-1].progress_key == final.progress_key
    assert [member["task_id"] for member in members] == batch.task_ids
    assert members[3]["source_url"] == url
    assert listed[0].batch_id == batch.batch_id


def test_the_cli_submits_a_directory_as_one_batch(fetching: DatabaseStack, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.pdf").write_bytes(make_pdf(2, title=uuid.uuid4().hex))
    (folder / "sub" / "b.md").write_bytes(f"# B {uuid.uuid4().hex}\n\ntext\n".encode())
    (folder / "sub" / "broken.pdf").write_bytes(corrupt_pdf())
    (folder / ".hidden.pdf").write_bytes(make_pdf(1))
    done = run_cli(fetching.api_url, fetching.key(), "submit", str(folder), "--batch", "--wait", "--json")
    assert done.returncode == 1, done.stderr  # one member failed
    rows = json.loads(done.stdout)
    assert [(row["file"], row["state"]) for row in rows] == [
        ("a.pdf", "succeeded"),
        ("b.md", "succeeded"),
        ("broken.pdf", "failed"),
    ]
    assert rows[2]["error"] == "corrupt_document"
    assert rows[0]["pages"] == 2


def test_the_async_client_submits_and_follows_a_batch(fetching: DatabaseStack, tmp_path: Path) -> None:
    path = tmp_path / "async.pdf"
    path.write_bytes(make_pdf(2, title=f"async batch {uuid.uuid4().hex}"))
    seen: list[BatchStatus] = []

    async def run() -> tuple[dict[str, Any], BatchStatus, list[dict[str, Any]]]:
        async with AsyncClient(fetching.api_url, api_key=fetching.key()) as dq:
            accepted = await dq.batches.submit([path], chunk_size=300, chunk_overlap=0)
            final = await dq.batches.wait(str(accepted["batch_id"]), on_progress=seen.append, timeout_s=60)
            members = [member async for member in dq.batches.members(final.batch_id)]
            return accepted, final, members

    accepted, final, members = asyncio.run(run())
    assert final.state == "succeeded"
    assert (final.done, final.pages_done) == (1, 2)
    assert seen[-1].progress_key == final.progress_key
    assert [m["task_id"] for m in members] == [m["task_id"] for m in accepted["members"]]
