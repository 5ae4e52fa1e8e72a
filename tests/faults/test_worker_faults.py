"""Workers killed, stopped and crashed mid-task: nothing lost, nothing done twice."""

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest

from tests.faults.harness import fault_stack, holder_pid
from tests.support.documents import make_pdf
from tests.support.http import submit

pytestmark = pytest.mark.faults

LONG_PAGES = 2000  # seconds of extraction: long enough to be interrupted
# Long enough to outlast starting a second worker first, even on a loaded machine.
VERY_LONG_PAGES = 8000


def test_sigkill_of_a_pool_child_mid_task(tmp_path: Path) -> None:
    with fault_stack(tmp_path) as fs:
        fs.start_api()
        fs.start_worker(concurrency=1)
        with fs.client() as api:
            task_id = submit(api, make_pdf(LONG_PAGES))
            other = submit(api, make_pdf(3))
        running = fs.wait_job(
            task_id, lambda j: j.get("state") == "running" and int(j.get("pages_done", 0)) > 0
        )
        os.kill(holder_pid(running), signal.SIGKILL)
        finals = fs.assert_invariants([task_id, other])
        assert finals[task_id]["state"] == "succeeded"
        assert finals[task_id]["attempts"] == "2"
        starts = [e for e in fs.history(task_id) if e["event"] == "started"]
        assert len(starts) == 2
        assert starts[0]["holder"] != starts[1]["holder"]
        assert finals[other]["state"] == "succeeded"


def test_sigkill_of_a_whole_worker_while_another_runs(tmp_path: Path) -> None:
    with fault_stack(tmp_path) as fs:
        fs.start_api()
        doomed = fs.start_worker(name="doomed", concurrency=1)
        with fs.client() as api:
            task_id = submit(api, make_pdf(VERY_LONG_PAGES))
        running = fs.wait_job(
            task_id, lambda j: j.get("state") == "running" and int(j.get("pages_done", 0)) > 0
        )
        fs.start_worker(name="survivor", concurrency=1)
        fs.start_beat()
        doomed.stop(timeout_s=0, signum=signal.SIGKILL)
        finals = fs.assert_invariants([task_id])
        assert finals[task_id]["state"] == "succeeded"
        assert finals[task_id]["attempts"] == "2"
        starts = [e for e in fs.history(task_id) if e["event"] == "started"]
        assert starts[0]["holder"] == running["holder"]
        assert starts[-1]["holder"] != running["holder"], "finished by the killed worker?"
        # The reconciler re-queued it (heartbeat stale, message stranded in `unacked`).
        assert any(e["event"] == "requeued" for e in fs.history(task_id))


def test_sigterm_requeues_a_long_task_at_once(tmp_path: Path) -> None:
    with fault_stack(tmp_path) as fs:
        fs.start_api()
        first = fs.start_worker(name="first", concurrency=1)
        with fs.client() as api:
            task_id = submit(api, make_pdf(VERY_LONG_PAGES))
        fs.wait_job(task_id, lambda j: j.get("state") == "running" and int(j.get("pages_done", 0)) > 0)
        fs.start_worker(name="second", concurrency=1)
        stopped_at = time.monotonic()
        first.send_signal(signal.SIGTERM)  # a pod stop: soft shutdown (1 s), then re-queue
        assert first.wait(30) is not None, "the worker did not stop"
        # Re-queued at once: the message is back in the queue or taken by the second worker,
        # long before the visibility timeout (40 s) would have returned it.
        restarted = fs.wait_job(task_id, lambda j: j.get("attempts") == "2", timeout_s=15)
        assert time.monotonic() - stopped_at < 15
        assert restarted["state"] in ("running", "succeeded")
        finals = fs.assert_invariants([task_id])
        assert finals[task_id]["state"] == "succeeded"


def test_poison_document_is_dead_lettered_after_the_cap(tmp_path: Path) -> None:
    """A file that kills its worker every time (simulated: the test kills whichever pool
    process picks it up) is dead-lettered as worker_lost, and the worker goes on serving."""
    with fault_stack(tmp_path) as fs:
        fs.start_api()
        fs.start_worker(concurrency=1)
        with fs.client() as api:
            poison = submit(api, make_pdf(LONG_PAGES))
            killed: set[int] = set()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                job = fs.job(poison)
                if job.get("state") == "dead_lettered":
                    break
                if job.get("state") == "running" and job.get("holder"):
                    pid = holder_pid(job)
                    if pid not in killed:
                        killed.add(pid)
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
                time.sleep(0.05)
            healthy = submit(api, make_pdf(2))
        finals = fs.assert_invariants([poison, healthy])
        assert finals[poison]["state"] == "dead_lettered"
        assert finals[poison]["error_code"] == "worker_lost"
        assert int(finals[poison]["attempts"]) == 4  # the cap: never a fifth run
        assert len(killed) == 4
        assert finals[healthy]["state"] == "succeeded"
        assert fs.dead_letter_ids() == [poison]


def test_duplicate_delivery_racing_the_original(tmp_path: Path) -> None:
    with fault_stack(tmp_path) as fs:
        fs.start_api()
        worker = fs.start_worker(concurrency=2)
        with fs.client() as api:
            task_id = submit(api, make_pdf(1500))
        fs.wait_job(task_id, lambda j: j.get("state") == "running")
        # A second message for the same task id, as a visibility-timeout redelivery or a
        # replay racing a late original would produce.
        fs.publish(task_id)
        finals = fs.assert_invariants([task_id])
        assert finals[task_id]["state"] == "succeeded"
        assert finals[task_id]["attempts"] == "1", "the duplicate ran the document again"
        assert worker.alive()
