"""Time and memory limits: a runaway document costs one task, never the worker."""

import os
import signal
from pathlib import Path

import pytest

from tests.faults.harness import fault_stack, holder_pid
from tests.hostile import pdfs
from tests.support.documents import make_pdf
from tests.support.http import submit

pytestmark = pytest.mark.faults

RUNAWAY_PAGES = 4000  # far longer than the limits below allow


def test_soft_time_limit_ends_in_a_clean_timeout(tmp_path: Path) -> None:
    with fault_stack(tmp_path) as fs:
        fs.env.update({"DOCQUEUE_TASK_SOFT_TIME_LIMIT_S": "2", "DOCQUEUE_TASK_TIME_LIMIT_S": "5"})
        fs.start_api()
        worker = fs.start_worker()
        with fs.client() as api:
            slow = submit(api, make_pdf(RUNAWAY_PAGES))
            after = submit(api, make_pdf(2))
        finals = fs.assert_invariants([slow, after])
        assert finals[slow]["state"] == "dead_lettered"
        assert finals[slow]["error_code"] == "timeout"
        assert "longer than 2s" in finals[slow]["error_message"]
        assert finals[after]["state"] == "succeeded"
        assert fs.dead_letter_ids() == [slow]
        assert worker.alive()


def test_hard_time_limit_reaches_the_dead_letters(tmp_path: Path) -> None:
    """A pool process stuck where the soft limit cannot reach it (here: stopped with SIGSTOP, as
    a process stuck in native code would be) is killed at the hard limit before it can record
    anything; the worker's main process dead-letters the job (Celery does not fire
    task_failure for this in every version)."""
    with fault_stack(tmp_path) as fs:
        fs.env.update({"DOCQUEUE_TASK_SOFT_TIME_LIMIT_S": "2", "DOCQUEUE_TASK_TIME_LIMIT_S": "4"})
        fs.start_api()
        worker = fs.start_worker()
        with fs.client() as api:
            slow = submit(api, make_pdf(RUNAWAY_PAGES))
            running = fs.wait_job(slow, lambda j: j.get("state") == "running" and j.get("holder"))
            os.kill(holder_pid(running), signal.SIGSTOP)
            after = submit(api, make_pdf(2))
        finals = fs.assert_invariants([slow, after])
        assert finals[slow]["state"] == "dead_lettered"
        assert finals[slow]["error_code"] == "timeout"
        assert "hard time limit" in finals[slow]["error_message"]
        assert finals[after]["state"] == "succeeded"
        assert fs.dead_letter_ids() == [slow]
        assert worker.alive()


def test_decompression_bomb_and_huge_page_cost_one_task_each(tmp_path: Path) -> None:
    with fault_stack(tmp_path) as fs:
        fs.env.update({"DOCQUEUE_TASK_SOFT_TIME_LIMIT_S": "10", "DOCQUEUE_TASK_TIME_LIMIT_S": "15"})
        fs.start_api()
        worker = fs.start_worker()
        with fs.client() as api:
            bomb = submit(api, pdfs.flate_bomb(), "bomb.pdf")
            huge = submit(api, pdfs.huge_content_stream(), "huge.pdf")
            after = submit(api, make_pdf(2))
        finals = fs.assert_invariants([bomb, huge, after])
        for task_id in (bomb, huge):
            assert finals[task_id]["state"] in ("failed", "dead_lettered"), finals[task_id]
            assert finals[task_id]["error_code"] in ("document_too_complex", "timeout"), finals[task_id]
        assert finals[after]["state"] == "succeeded"
        assert worker.alive()
