"""Parts: a long PDF is processed as page ranges any worker can take, and its result is the one an
unsplit run makes (docqueue.jobs.parts, docqueue_worker.parts)."""

import io
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from pypdf import PdfReader, PdfWriter

from docqueue import names
from docqueue.jobs import keys
from docqueue.jobs.model import JobState
from docqueue.jobs.parts import STORED, plan, should_split
from docqueue.jobs.store import JobStore
from docqueue.storage.base import part_key
from docqueue.storage.file import FileBlobStore
from docqueue_client.models import TaskStatus
from tests.conftest import TEST_ENV
from tests.hostile.images import pdf_with_huge_image
from tests.support.documents import make_pdf
from tests.support.held_jobs import hold_job, move
from tests.support.http import submit, wait_for, wait_terminal
from tests.support.keys import tenant_key
from tests.support.scans import image_file, page_images
from tests.support.stacks import PrivateStack, private_stack

PAGES = 20
PER_PART = 3
SPLIT_ENV = {"DOCQUEUE_SPLIT_MIN_PAGES": "8", "DOCQUEUE_SPLIT_PAGES_PER_PART": str(PER_PART)}
UNSPLIT_ENV = {"DOCQUEUE_SPLIT_MIN_PAGES": "0"}


def test_plan_covers_every_page_once() -> None:
    ranges = plan(20, 3)
    assert [(r.first, r.last) for r in ranges][:2] == [(1, 3), (4, 6)]
    assert ranges[-1].first == 19
    assert ranges[-1].last == 20
    assert sum(r.pages for r in ranges) == 20
    assert [r.index for r in ranges] == list(range(7))
    assert should_split(64, 64, 32)
    assert not should_split(63, 64, 32)
    assert not should_split(10**6, 0, 32)  # 0 turns splitting off
    assert not should_split(30, 8, 32)  # one part would be the whole document
    # A part's message id names its job: beat's broker view and the hard time limit's dead letter
    # (tasks.request_class) find the job from it.
    task_id = uuid.uuid4().hex
    assert names.job_of_message(names.part_message_id(task_id, 12)) == task_id
    assert names.job_of_message(task_id) == task_id


def test_a_second_split_keeps_the_stored_parts(redis_url: str, redis_client: redis.Redis) -> None:
    """What healing and dead-letter replay rely on: splitting again (a new run) republishes only
    the parts not stored, keeps their attempts, and counts the stored pages as done."""
    task_id, now = hold_job(redis_url, "parts").task_id, time.time()
    jobs = JobStore(redis_client, 3600)
    move(redis_client, task_id, state=JobState.RUNNING, run_id="run1")
    ranges = plan(10, 4)
    assert jobs.split(task_id, "run1", ranges, now) == [0, 1, 2]
    assert jobs.update_part("claim", task_id, "run1", 1, "c1", now, holder="h:1").ok
    stored = jobs.update_part("store", task_id, "run1", 1, "c1", now, key=part_key(task_id, 5, 8, "c" * 32))
    assert stored.ok
    assert (stored.parts_done, stored.parts_total) == (1, 3)
    assert jobs.update_part("claim", task_id, "run1", 2, "c2", now, holder="h:2").ok  # then lost
    # A stale run's writes are refused once another run holds the job.
    move(redis_client, task_id, run_id="run2")
    assert jobs.update_part("progress", task_id, "run1", 2, "c2", now, pages_done=1).status == "conflict"
    assert jobs.split(task_id, "run1", ranges, now) is None
    assert jobs.split(task_id, "run2", ranges, now) == [0, 2]
    job = jobs.get(task_id)
    assert job is not None
    assert (job.parts_total, job.parts_done, job.pages_done) == (3, 1, 4)
    # Its ten pages count for its tenant while it is unfinished (fair shares), and no longer once
    # it is gone.
    assert int(redis_client.hget(keys.TENANT_PAGES_IN_FLIGHT, "parts") or 0) >= 10
    found = {part.index: part for part in jobs.parts(task_id)}
    assert found[1].state == STORED
    assert found[2].attempts == 1
    assert found[2].state == "queued"
    before = int(redis_client.hget(keys.TENANT_PAGES_IN_FLIGHT, "parts") or 0)
    jobs.delete(job)
    assert jobs.parts(task_id) == []
    assert int(redis_client.hget(keys.TENANT_PAGES_IN_FLIGHT, "parts") or 0) == before - 10


@pytest.fixture
def parts_stack(tmp_path: Path) -> Iterator[PrivateStack]:
    with private_stack(tmp_path, {**TEST_ENV, **SPLIT_ENV}) as private:
        yield private


def _result(api: httpx.Client, task_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/tasks/{task_id}/result")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _same_reading(split: dict[str, Any], whole: dict[str, Any]) -> None:
    assert split["pages"] == whole["pages"]
    assert split["chunks"] == whole["chunks"]
    ignore = {"sha256", "filename"}
    assert {k: v for k, v in split["document"].items() if k not in ignore} == {
        k: v for k, v in whole["document"].items() if k not in ignore
    }


def _variant(pdf: bytes, n: int) -> bytes:
    """The same PDF with a comment after its end: other bytes (no dedupe), the same document."""
    return pdf + f"\n% variant {n}\n".encode()


def _part_blobs(stack: PrivateStack, task_id: str) -> list[str]:
    folder = stack.stack.run_dir / "blobs" / "results" / task_id
    return sorted(path.name for path in folder.glob("part-*")) if folder.exists() else []


def test_a_split_document_reads_as_the_unsplit_one(parts_stack: PrivateStack) -> None:
    stack = parts_stack
    pdf = make_pdf(PAGES, title="Split manual", author="docqueue")
    key = tenant_key(stack.redis)
    with httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as api:
        whole_worker = stack.stack.start_worker("whole", concurrency=1, env=UNSPLIT_ENV)
        whole_id = submit(api, pdf, chunk_size=400, chunk_overlap=50)
        whole = wait_terminal(api, whole_id, timeout_s=120)
        assert whole["state"] == "succeeded"
        assert whole["parts"] is None
        whole_worker.stop()

        stack.stack.start_worker("split", concurrency=2)
        split_id = submit(api, _variant(pdf, 1), chunk_size=400, chunk_overlap=50)
        # A part blob no record names, as a delivery leaves one whose store failed on a Redis
        # outage after it wrote its pages (its retry stores the part under a claim of its own).
        lost = part_key(split_id, 1, 16, uuid.uuid4().hex)
        FileBlobStore(stack.stack.run_dir / "blobs").put(lost, b"[]", ttl_s=600)
        seen: list[int] = []

        def progressed(body: dict[str, Any]) -> bool:
            seen.append(body["progress"]["pages_done"])
            return bool(body["state"] in {"succeeded", "failed", "dead_lettered", "cancelled"})

        split = wait_for(api, split_id, progressed, timeout_s=180)
        assert split["state"] == "succeeded", split
        assert split["parts"] == {"total": 7, "done": 7}
        status = TaskStatus.from_json(split)  # the Python client (and its CLI's progress text)
        assert (status.parts_total, status.parts_done) == (7, 7)
        assert split["progress"] == {"pages_done": PAGES, "pages_total": PAGES, "percent": 100.0}
        assert seen == sorted(seen), "pages_done went back"
        _same_reading(_result(api, split_id), _result(api, whole_id))
        # Each part ran once, and its blob went with the assembly (the unrecorded one too).
        jobs = JobStore(stack.redis, 3600)
        assert [part.attempts for part in jobs.parts(split_id)] == [1] * 7
        assert _part_blobs(stack, split_id) == []
        history = [
            json.loads(entry)["event"] for entry in stack.redis.lrange(keys.job_history(split_id), 0, -1)
        ]
        assert history.count("succeeded") == 1, history


def test_a_part_whose_pool_process_is_killed_runs_again(parts_stack: PrivateStack) -> None:
    """SIGKILL of the pool process reading one part: Celery re-queues that part's message
    (reject on worker lost), the next delivery finds its holder dead and takes it over; every
    other part ran once and the result is whole."""
    stack = parts_stack
    pdf = make_pdf(60)
    key = tenant_key(stack.redis)
    env = {"DOCQUEUE_SPLIT_PAGES_PER_PART": "20", "DOCQUEUE_SPLIT_MIN_PAGES": "8"}
    with httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as api:
        whole_worker = stack.stack.start_worker("whole", concurrency=1, env=UNSPLIT_ENV)
        whole_id = submit(api, pdf)
        assert wait_terminal(api, whole_id, timeout_s=120)["state"] == "succeeded"
        whole_worker.stop()

        stack.stack.start_worker("split", concurrency=2, env=env)
        task_id = submit(api, _variant(pdf, 2))
        jobs = JobStore(stack.redis, 3600)
        victim = None
        deadline = time.monotonic() + 120
        while victim is None and time.monotonic() < deadline:
            running = [part for part in jobs.parts(task_id) if part.state == "running" and part.holder]
            victim = running[0] if running else None
            time.sleep(0.01)
        assert victim is not None
        assert victim.holder is not None
        os.kill(int(victim.holder.rpartition(":")[2]), signal.SIGKILL)
        final = wait_terminal(api, task_id, timeout_s=180)
        assert final["state"] == "succeeded", final
        attempts = {part.index: part.attempts for part in jobs.parts(task_id)}
        assert attempts[victim.index] == 2, attempts
        assert all(count == 1 for index, count in attempts.items() if index != victim.index), attempts
        _same_reading(_result(api, task_id), _result(api, whole_id))
        assert _part_blobs(stack, task_id) == []


def test_cancel_stops_every_part(parts_stack: PrivateStack) -> None:
    stack = parts_stack
    key = tenant_key(stack.redis)
    with httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as api:
        stack.stack.start_worker("split", concurrency=2)
        task_id = submit(api, make_pdf(240))
        wait_for(api, task_id, lambda body: (body["parts"] or {}).get("done", 0) >= 2, timeout_s=120)
        assert api.delete(f"/v1/tasks/{task_id}").status_code in (200, 202)
        cancelled = wait_terminal(api, task_id)
        assert cancelled["state"] == "cancelled"
        # Every queued part is dropped as stale and every running one stops at its next page.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            stack.redis.llen(names.BULK_QUEUE) or stack.redis.hlen("unacked")
        ):
            time.sleep(0.1)
        assert stack.redis.llen(names.BULK_QUEUE) == 0
        assert stack.redis.hlen("unacked") == 0
        later = api.get(f"/v1/tasks/{task_id}").json()
        assert later["state"] == "cancelled"
        assert later["progress"]["pages_done"] == cancelled["progress"]["pages_done"]
        assert later["parts"]["done"] < later["parts"]["total"]


def test_a_tenant_over_its_page_cap_waits_and_others_do_not(tmp_path: Path) -> None:
    """Fair shares: while tenant A's large document runs, A's next upload is a 429 with
    Retry-After; tenant B's small upload is accepted and finishes first; A may upload again once
    its document ended (the count goes back to zero)."""
    env = {**TEST_ENV, **SPLIT_ENV, "DOCQUEUE_TENANT_MAX_PAGES_IN_FLIGHT": "100"}
    with private_stack(tmp_path, env) as stack:
        key_a, key_b = tenant_key(stack.redis, "tenant-a"), tenant_key(stack.redis, "tenant-b")
        url = stack.api_url
        with (
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key_a}"}, timeout=60) as a,
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key_b}"}, timeout=60) as b,
        ):
            stack.stack.start_worker("split", concurrency=1)
            large = submit(a, make_pdf(240))
            wait_for(a, large, lambda body: body["progress"]["pages_total"] == 240, timeout_s=120)
            refused = a.post("/v1/documents", files={"file": ("more.pdf", make_pdf(1), "application/pdf")})
            assert refused.status_code == 429, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["code"] == "too_many_pages_in_flight"
            assert int(refused.headers["Retry-After"]) > 0
            small = submit(b, make_pdf(1))
            done = wait_terminal(b, small, timeout_s=120)
            assert done["state"] == "succeeded"
            assert wait_terminal(a, large, timeout_s=300)["state"] == "succeeded"
            assert int(stack.redis.hget(keys.TENANT_PAGES_IN_FLIGHT, "tenant-a") or 0) == 0
            assert wait_terminal(a, submit(a, make_pdf(1)), timeout_s=120)["state"] == "succeeded"


def test_a_permanent_error_in_one_part_fails_the_document_naming_its_page(parts_stack: PrivateStack) -> None:
    """Page 15 of 20 claims a 900-megapixel image (tests/hostile/images.py): its part fails the
    whole document, `document_too_complex`, and the message names the page."""
    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(make_pdf(PAGES))).pages:
        writer.add_page(page)
    writer.insert_page(PdfReader(io.BytesIO(pdf_with_huge_image())).pages[0], index=14)
    writer.remove_page(PAGES)  # still 20 pages: the bomb is page 15
    out = io.BytesIO()
    writer.write(out)
    key = tenant_key(parts_stack.redis)
    url = parts_stack.api_url
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as api:
        parts_stack.stack.start_worker("split", concurrency=2)
        task_id = submit(api, out.getvalue(), ocr="auto")
        final = wait_terminal(api, task_id, timeout_s=120)
        assert final["state"] == "failed", final
        assert final["error"]["code"] == "document_too_complex"
        assert final["error"]["message"].startswith("page 15: "), final["error"]
        assert final["parts"]["total"] == 7
        # A failure for good deletes the parts already stored (a replay would start over).
        deadline = time.monotonic() + 30
        while _part_blobs(parts_stack, task_id) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _part_blobs(parts_stack, task_id) == []


def test_a_multi_page_tiff_is_split_too(parts_stack: PrivateStack) -> None:
    """A scan as a 9-frame TIFF (every frame read by OCR) runs as 3 parts and reads as unsplit."""
    tiff = image_file(page_images(make_pdf(9, lambda n: f"Frame {n} of the scanned report.")), "TIFF")
    key = tenant_key(parts_stack.redis)
    url = parts_stack.api_url
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as api:
        whole_worker = parts_stack.stack.start_worker("whole", concurrency=1, env=UNSPLIT_ENV)
        whole_id = submit(api, tiff, filename="scan.tif")
        assert wait_terminal(api, whole_id, timeout_s=180)["state"] == "succeeded"
        whole_worker.stop()
        parts_stack.stack.start_worker("split", concurrency=2)
        split_id = submit(api, tiff + b"\0", filename="scan.tif")  # a trailing byte: no dedupe
        split = wait_terminal(api, split_id, timeout_s=180)
        assert split["state"] == "succeeded", split
        assert split["parts"] == {"total": 3, "done": 3}
        result = _result(api, split_id)
        _same_reading(result, _result(api, whole_id))
        assert result["document"]["ocr_pages"] == 9
        assert "Frame 7" in result["pages"][6]["text"]


def test_a_scan_is_split_so_each_part_fits_the_soft_time_limit(tmp_path: Path) -> None:
    """The OCR page budget (issue 13): with a 12 s soft time limit and 4 s a page, two scanned
    pages fit a part, so a 12-frame scan is read as six parts, each well inside the limit, though
    it is far below DOCQUEUE_SPLIT_MIN_PAGES; the same pages with a text layer are read whole."""
    env = {
        **TEST_ENV,
        "DOCQUEUE_TASK_SOFT_TIME_LIMIT_S": "12",
        "DOCQUEUE_TASK_TIME_LIMIT_S": "15",
        "DOCQUEUE_OCR_PAGE_BUDGET_S": "4",
        "DOCQUEUE_SPLIT_MIN_PAGES": "128",
    }
    pdf = make_pdf(12, lambda n: f"Scanned page {n} of the budget test.")
    with private_stack(tmp_path, env) as stack:
        key = tenant_key(stack.redis)
        with httpx.Client(
            base_url=stack.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as api:
            stack.stack.start_worker("ocr", concurrency=2)
            scan = submit(api, image_file(page_images(pdf), "TIFF"), filename="scan.tif")
            text = submit(api, pdf)
            done = wait_terminal(api, scan, timeout_s=240)
            assert done["state"] == "succeeded", done
            assert done["parts"] == {"total": 6, "done": 6}
            result = _result(api, scan)
            assert "Scanned page 11" in result["pages"][10]["text"]
            whole = wait_terminal(api, text, timeout_s=60)
            assert whole["state"] == "succeeded"
            assert whole["parts"] is None
