"""Faults while a document runs as parts: every guarantee holds per part (docqueue.jobs.parts).
Each test ends with the harness's invariants, which also say that a succeeded split job left no
part blobs behind."""

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from docqueue.jobs.parts import Part
from docqueue.jobs.store import JobStore
from tests.faults.harness import FaultStack, fault_stack
from tests.support.devstack import descendants
from tests.support.documents import make_pdf, page_text
from tests.support.http import submit

pytestmark = pytest.mark.faults

PAGES = 1200
PER_PART = 100  # 12 parts of a second or so each
SPLIT = {"DOCQUEUE_SPLIT_MIN_PAGES": "64", "DOCQUEUE_SPLIT_PAGES_PER_PART": str(PER_PART)}


def _parts(fs: FaultStack, task_id: str) -> list[Part]:
    return JobStore(fs.store, 3600).parts(task_id)


def _wait_parts(fs: FaultStack, task_id: str, predicate: Any, timeout_s: float = 90) -> list[Part]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        parts = _parts(fs, task_id)
        if parts and predicate(parts):
            return parts
        time.sleep(0.02)
    raise AssertionError(f"the parts of {task_id} never matched: {_parts(fs, task_id)}")


def _assert_whole(fs: FaultStack, task_id: str, label: str) -> None:
    """Every page once, in order, as the document wrote it."""
    with httpx.Client(base_url=fs.api_url, headers={"Authorization": f"Bearer {fs.key}"}) as api:
        result = api.get(f"/v1/tasks/{task_id}/result").json()
    assert [page["number"] for page in result["pages"]] == list(range(1, PAGES + 1))
    assert all(f"{label} page {page['number']}." in page["text"] for page in result["pages"])


def slow_pdf(label: str) -> bytes:
    """PAGES dense pages (a second or so per part) that say whose they are."""
    return make_pdf(PAGES, lambda number: f"{label} page {number}. {page_text(number)}")


def _holder(part: Part) -> int:
    return int(part.holder.rpartition(":")[2]) if part.state == "running" and part.holder else -1


def _running(parts: list[Part]) -> list[Part]:
    return [part for part in parts if part.state == "running"]


def test_a_whole_worker_killed_with_parts_of_two_documents_in_flight(tmp_path: Path) -> None:
    """The killed worker's parts stay `running` with no one beating; their messages sit in
    `unacked`. Once the survivor has stored every other part the job goes quiet, the reconciler
    re-queues it, and the next run splits it again, running only the parts not stored."""
    with fault_stack(tmp_path) as fs:
        fs.env.update(SPLIT)
        fs.start_api()
        fs.start_worker(name="survivor", concurrency=1)
        fs.start_beat()
        doomed = fs.start_worker(name="doomed", concurrency=2)
        with fs.client() as api:
            ids = [submit(api, slow_pdf(f"doc {n}")) for n in range(2)]
        for task_id in ids:
            _wait_parts(
                fs, task_id, lambda parts: any(_holder(part) in descendants(doomed.pid) for part in parts)
            )
        doomed.stop(timeout_s=0, signum=signal.SIGKILL)
        finals = fs.assert_invariants(ids, bound_s=180)
        for n, task_id in enumerate(ids):
            assert finals[task_id]["state"] == "succeeded", finals[task_id]
            _assert_whole(fs, task_id, f"doc {n}")
        # At least one of them was healed by the reconciler and split again.
        assert any(any(e["event"] == "requeued" for e in fs.history(task_id)) for task_id in ids)


def test_redis_restarted_while_parts_are_queued(tmp_path: Path) -> None:
    with fault_stack(tmp_path) as fs:
        fs.env.update(SPLIT)
        fs.start_api()
        worker = fs.start_worker(concurrency=1, restart=True)
        beat = fs.start_beat()
        with fs.client() as api:
            task_id = submit(api, slow_pdf("restarted"))
        _wait_parts(fs, task_id, lambda parts: any(part.state == "stored" for part in parts))
        fs.redis_server.stop()  # SIGTERM: Redis flushes its AOF and exits
        time.sleep(2)
        fs.redis_server.start()
        finals = fs.assert_invariants([task_id], bound_s=180)
        assert finals[task_id]["state"] == "succeeded", finals[task_id]
        _assert_whole(fs, task_id, "restarted")
        fs.assert_reconnected(worker, beat)


@contextmanager
def _running_split(tmp_path: Path, label: str) -> Iterator[tuple[FaultStack, str, Part]]:
    """A fault stack splitting documents, one worker of two processes, and a slow document of
    `label` uploaded: (stack, task id, a part of it that is running)."""
    with fault_stack(tmp_path) as fs:
        fs.env.update(SPLIT)
        fs.start_api()
        fs.start_worker(concurrency=2)
        with fs.client() as api:
            task_id = submit(api, slow_pdf(label))
        yield fs, task_id, _running(_wait_parts(fs, task_id, lambda parts: bool(_running(parts))))[0]


def test_a_duplicate_part_delivery_racing_the_original(tmp_path: Path) -> None:
    with _running_split(tmp_path, "duplicated") as (fs, task_id, running):
        fs.publish_part(task_id, fs.job(task_id)["run_id"], running.index)
        finals = fs.assert_invariants([task_id], bound_s=180)
        assert finals[task_id]["state"] == "succeeded", finals[task_id]
        # The duplicate found the part held (or stored) and never read it again.
        assert [part.attempts for part in _parts(fs, task_id)] == [1] * (PAGES // PER_PART)
        _assert_whole(fs, task_id, "duplicated")


def test_a_poison_part_is_dead_lettered_and_its_replay_reruns_only_the_unfinished_parts(
    tmp_path: Path,
) -> None:
    """One part's pool process is SIGKILLed at every delivery: at the poison cap
    (DOCQUEUE_MAX_ATTEMPTS=4) the document is dead-lettered `worker_lost`, naming the pages. The
    replay splits it again keeping the parts stored before, so only the others run again; the
    result is whole and its parts' blobs are gone."""
    with _running_split(tmp_path, "poison") as (fs, task_id, running):
        victim = running.index
        killed: set[int] = set()
        deadline = time.monotonic() + 120
        while fs.job(task_id).get("state") == "running" and time.monotonic() < deadline:
            part = next(part for part in _parts(fs, task_id) if part.index == victim)
            pid = _holder(part)
            if pid > 0 and pid not in killed:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            time.sleep(0.01)
        dead = fs.wait_job(task_id, lambda j: j.get("state") == "dead_lettered", timeout_s=60)
        assert dead["error_code"] == "worker_lost", dead
        first, last = victim * PER_PART + 1, (victim + 1) * PER_PART
        assert f"pages {first}-{last} were delivered 4 times" in dead["error_message"]
        stored_before = {part.index for part in _parts(fs, task_id) if part.state == "stored"}
        assert victim not in stored_before
        assert stored_before, "no part was stored before the dead letter: nothing to keep"

        with fs.client() as api:
            assert api.post(f"/v1/dead-letters/{task_id}/replay").status_code in (200, 202)
        finals = fs.assert_invariants([task_id], bound_s=180, endings=2)  # dead letter, success
        assert finals[task_id]["state"] == "succeeded", finals[task_id]
        _assert_whole(fs, task_id, "poison")
        attempts = {part.index: part.attempts for part in _parts(fs, task_id)}
        # Stored before the dead letter: read once, never again. The poisoned part's attempts
        # restarted with the replay's.
        assert all(attempts[index] == 1 for index in stored_before), attempts
        assert attempts[victim] == 1, attempts
