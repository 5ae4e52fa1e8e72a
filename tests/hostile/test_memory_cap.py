"""The pool process's address-space cap stops what pypdf's own limits let through: the document
ends `failed` / `document_too_complex`, the pool process survives, and the next document succeeds."""

import uuid
from collections.abc import Iterator

import httpx
import pytest

from docqueue_devstack.stack import Stack
from tests.hostile import pdfs
from tests.hostile.conftest import capped_stack
from tests.hostile.test_hostile_pdfs import peak_rss_mb, pool_pids
from tests.support.http import wait_terminal

# Well above an idle pool process (~130 MiB of address space), well below what inflating and
# parsing a 60 MB content stream takes (~400 MiB).
SMALL_CAP_MB = 320


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str, str]]:
    env = {"DOCQUEUE_MAX_MEMORY_MB": str(SMALL_CAP_MB)}
    with capped_stack(tmp_path_factory.mktemp("capped"), env, worker="capped-worker") as capped:
        yield capped


def test_memory_cap_contains_what_pypdf_lets_through(capped: tuple[Stack, str, str]) -> None:
    stack, api_url, key = capped
    worker = stack.processes[-1]
    with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as api:
        pids_before = pool_pids(worker.pid)
        heavy = api.post("/v1/documents", files={"file": ("heavy.pdf", pdfs.huge_content_stream())})
        task = wait_terminal(api, heavy.json()["task_id"], timeout_s=120)
        assert (task["state"], task["error"]["code"]) == ("failed", "document_too_complex")
        assert "MemoryError" in task["error"]["message"]
        assert pool_pids(worker.pid) == pids_before, "the pool process died instead of failing the task"
        assert all(peak_rss_mb(pid) < SMALL_CAP_MB for pid in pids_before)
        marker = uuid.uuid4().hex
        normal = api.post("/v1/documents", files={"file": ("ok.pdf", pdfs.normal(marker))})
        after = wait_terminal(api, normal.json()["task_id"])
        assert after["state"] == "succeeded"
        assert marker in api.get(f"/v1/tasks/{after['task_id']}/result").text
