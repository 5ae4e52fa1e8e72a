"""The hostile corpus through the real worker: each file ends in its documented state and code within
its time bound, the pool process stays under its memory cap, and a normal document still succeeds."""

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.hostile import pdfs
from tests.hostile.conftest import MAX_MEMORY_MB, HostileStack
from tests.support.http import TERMINAL

MARKER = uuid.uuid4().hex
ATTACHED = uuid.uuid4().hex


@dataclass(frozen=True)
class Case:
    build: Callable[[], bytes]
    state: str
    code: str | None
    bound_s: float
    text: str | None = None


# The documented outcome of each hostile file (README "Security" lists the same table).
CORPUS: dict[str, Case] = {
    "decompression bomb (3 nested FlateDecode, 256 MiB)": Case(
        pdfs.flate_bomb, "failed", "document_too_complex", 30
    ),
    "circular /Prev": Case(pdfs.circular_prev, "succeeded", None, 15, "circular prev"),
    "page tree containing itself": Case(pdfs.circular_page_tree, "failed", "corrupt_document", 15),
    "objects referring to each other": Case(pdfs.circular_objects, "succeeded", None, 15),
    "100k nested arrays": Case(pdfs.deep_arrays, "failed", "document_too_complex", 15),
    "50k nested dictionaries": Case(pdfs.deep_dictionaries, "succeeded", None, 20),
    "60 MB content stream on one page": Case(pdfs.huge_content_stream, "failed", "document_too_complex", 55),
    "5000 pages": Case(lambda: pdfs.many_pages(5000), "failed", "too_many_pages", 15),
    "encrypted, user password": Case(
        lambda: pdfs.encrypted("s3cret", MARKER), "failed", "encrypted_document", 15
    ),
    "encrypted, empty user password": Case(lambda: pdfs.encrypted("", MARKER), "succeeded", None, 15, MARKER),
    "truncated": Case(lambda: pdfs.truncated(MARKER), "failed", "corrupt_document", 15),
    "garbage after %PDF-": Case(pdfs.garbage_after_header, "failed", "corrupt_document", 15),
    "zero pages": Case(pdfs.zero_pages, "failed", "empty_document", 15),
    "outline entry that is its own sibling and child": Case(
        lambda: pdfs.looping_outline(MARKER), "succeeded", None, 15, MARKER
    ),
    "JavaScript and an embedded file": Case(
        lambda: pdfs.javascript_and_attachment(MARKER, ATTACHED), "succeeded", None, 15, MARKER
    ),
}


def pool_pids(worker_pid: int) -> list[int]:
    children = Path(f"/proc/{worker_pid}/task/{worker_pid}/children").read_text().split()
    return [int(pid) for pid in children]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for {pid}")


def seconds(task: dict[str, Any], start: str, end: str) -> float:
    return (datetime.fromisoformat(task[end]) - datetime.fromisoformat(task[start])).total_seconds()


def wait_all(client: httpx.Client, ids: dict[str, str], timeout_s: float) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    done: dict[str, dict[str, Any]] = {}
    while len(done) < len(ids):
        assert time.monotonic() < deadline, f"not terminal: {set(ids) - set(done)}"
        for name, task_id in ids.items():
            if name not in done:
                task = client.get(f"/v1/tasks/{task_id}").json()
                if task["state"] in TERMINAL:
                    done[name] = task
        time.sleep(0.5)  # one request per task each time: under the tenant's rate limit
    return done


@pytest.mark.timeout(600)
def test_hostile_corpus_is_contained(hostile: HostileStack, hostile_api: httpx.Client) -> None:
    log_before = hostile.worker.log_path.stat().st_size
    ids = {}
    for name, case in CORPUS.items():
        response = hostile_api.post(
            "/v1/documents", files={"file": ("hostile.pdf", case.build(), "application/pdf")}
        )
        assert response.status_code == 202, (name, response.text)
        ids[name] = response.json()["task_id"]
    peaks: dict[int, float] = {}
    tasks = wait_all(hostile_api, ids, timeout_s=sum(case.bound_s for case in CORPUS.values()) + 60)
    for pid in pool_pids(hostile.worker.pid):
        peaks[pid] = peak_rss_mb(pid)

    outcomes = {name: (task["state"], (task["error"] or {}).get("code")) for name, task in tasks.items()}
    for name, task in tasks.items():  # shown with `pytest -s`: the measured table for the README
        took_s = seconds(task, "started_at", "finished_at")
        print(f"{name:52} {task['state']:10} {outcomes[name][1] or '-':22} {took_s:6.2f}s")
    print(f"pool process peak RSS (MiB): {peaks}")
    expected = {name: (case.state, case.code) for name, case in CORPUS.items()}
    assert outcomes == expected
    for name, case in CORPUS.items():
        took_s = seconds(tasks[name], "started_at", "finished_at")
        assert took_s <= case.bound_s, f"{name} took {took_s:.1f}s (bound {case.bound_s}s)"
        if case.text is not None:
            result = hostile_api.get(f"/v1/tasks/{ids[name]}/result").json()
            text = " ".join(page["text"] for page in result["pages"])
            assert case.text in text, name
            # An embedded file is never extracted: its text is nowhere in the result.
            assert ATTACHED not in json.dumps(result), name

    assert peaks, "no pool process found"
    assert max(peaks.values()) < MAX_MEMORY_MB, peaks
    # pypdf's warnings are capped per document: a hostile file cannot flood the worker's log.
    assert hostile.worker.log_path.stat().st_size - log_before < 512 * 1024

    normal = hostile_api.post(
        "/v1/documents", files={"file": ("ok.pdf", pdfs.normal(MARKER), "application/pdf")}
    )
    task_id = normal.json()["task_id"]
    after = wait_all(hostile_api, {"normal": task_id}, timeout_s=60)["normal"]
    assert after["state"] == "succeeded"
    assert MARKER in hostile_api.get(f"/v1/tasks/{task_id}/result").text
