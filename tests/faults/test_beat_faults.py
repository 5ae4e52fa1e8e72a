"""Two beat processes at once: RedBeat's lock lets one schedule; the other takes over."""

import signal
import time
from pathlib import Path

import pytest

from docqueue import names
from docqueue_devstack.processes import Process, wait_until
from tests.faults.harness import FaultStack, fault_stack
from tests.support.documents import labelled_pdf
from tests.support.http import submit

pytestmark = pytest.mark.faults

LOCKED = "beat: Acquired lock"


def lose_a_job(fs: FaultStack, label: str) -> str:
    """Accept a job, then lose its message, as a publish lost in a crash would."""
    with fs.client() as api:
        task_id = submit(api, labelled_pdf(2, label))
    assert fs.broker.lpop(names.DOCUMENTS_QUEUE) is not None
    return task_id


def holds_lock(beat: Process) -> bool:
    return LOCKED in beat.log_tail(400)


def test_two_beats_schedule_once_and_fail_over(tmp_path: Path) -> None:
    with fault_stack(tmp_path) as fs:
        fs.env["DOCQUEUE_BEAT_LOCK_TIMEOUT_S"] = "5"
        fs.start_api()
        beats = [fs.start_beat("beat-a"), fs.start_beat("beat-b")]
        assert wait_until(lambda: any(holds_lock(b) for b in beats), timeout_s=20)
        time.sleep(2)
        assert [holds_lock(b) for b in beats].count(True) == 1, "both beats scheduled"
        leader = next(b for b in beats if holds_lock(b))
        standby = next(b for b in beats if b is not leader)

        first = lose_a_job(fs, "first")
        worker = fs.start_worker()
        fs.assert_invariants([first])
        assert [e["event"] for e in fs.history(first)].count("requeued") == 1

        leader.stop(timeout_s=0, signum=signal.SIGKILL)
        assert wait_until(lambda: holds_lock(standby), timeout_s=30), "the standby never took over"
        worker.stop()  # so the next message can be lost before anyone takes it
        second = lose_a_job(fs, "second")
        fs.start_worker(name="worker-2")
        finals = fs.assert_invariants([second])
        assert finals[second]["state"] == "succeeded"
        assert [e["event"] for e in fs.history(second)].count("requeued") == 1
