"""Hostile input through the `pdfium` engine. PDFium cannot report a failed allocation: under the
pool process's memory cap it aborts the process. The cap still holds, the worker replaces the pool
process, the poison cap ends the job `dead_lettered` / `worker_lost`, and the next document succeeds.
What pypdf's own limits refuse, PDFium parses within the cap (README "Performance")."""

import uuid
from collections.abc import Iterator

import httpx
import pytest

from docqueue_devstack.stack import Stack
from tests.hostile import pdfs
from tests.hostile.conftest import capped_stack
from tests.hostile.test_memory_cap import SMALL_CAP_MB
from tests.support.http import wait_terminal


@pytest.fixture(scope="module")
def capped_pdfium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str, str]]:
    # Every upload without an `engine` field uses pdfium: the per-deployment setting.
    env = {
        "DOCQUEUE_MAX_MEMORY_MB": str(SMALL_CAP_MB),
        "DOCQUEUE_PDF_ENGINE": "pdfium",
        # Fewer deliveries before the poison cap, so the aborting document is given up sooner.
        "DOCQUEUE_MAX_RETRIES": "1",
        "DOCQUEUE_MAX_ATTEMPTS": "3",
    }
    with capped_stack(tmp_path_factory.mktemp("pdfium"), env, worker="pdfium-worker") as capped:
        yield capped


def test_memory_cap_holds_for_pdfium(capped_pdfium: tuple[Stack, str, str]) -> None:
    stack, api_url, key = capped_pdfium
    worker = stack.processes[-1]
    with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as api:
        bomb = api.post("/v1/documents", files={"file": ("bomb.pdf", pdfs.flate_bomb())})
        assert bomb.status_code == 202
        task = wait_terminal(api, bomb.json()["task_id"], timeout_s=120)
        assert (task["state"], task["error"]["code"]) == ("dead_lettered", "worker_lost"), task
        assert worker.alive()
        # The documents pypdf refuses as too complex but PDFium parses within the cap.
        marker = uuid.uuid4().hex
        arrays = api.post("/v1/documents", files={"file": ("arrays.pdf", pdfs.deep_arrays())})
        normal = api.post("/v1/documents", files={"file": ("ok.pdf", pdfs.normal(marker))})
        assert wait_terminal(api, arrays.json()["task_id"])["state"] == "succeeded"
        after = wait_terminal(api, normal.json()["task_id"])
        assert after["state"] == "succeeded"
        assert marker in api.get(f"/v1/tasks/{after['task_id']}/result").text
