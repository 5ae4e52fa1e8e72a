"""Every process refuses to start on unsafe delivery settings, and says why."""

import os
import subprocess
import sys

import pytest

UNSAFE = {
    # A visibility timeout shorter than the hard limit plus the longest backoff: Redis would
    # hand a running task to a second worker.
    "DOCQUEUE_VISIBILITY_TIMEOUT_S": "300",
    "DOCQUEUE_TASK_SOFT_TIME_LIMIT_S": "200",
    "DOCQUEUE_TASK_TIME_LIMIT_S": "250",
    "DOCQUEUE_RETRY_BACKOFF_MAX_S": "100",
}


@pytest.mark.parametrize("module", ["docqueue_worker", "docqueue_beat"])
def test_process_refuses_unsafe_visibility_timeout(module: str) -> None:
    env = {**os.environ, **UNSAFE, "DOCQUEUE_REDIS_URL": "redis://127.0.0.1:1/0"}
    done = subprocess.run(
        [sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode != 0
    assert "refusing to start" in done.stderr
    assert (
        "visibility_timeout_s (300) must be larger than task_time_limit_s + retry_backoff_max_s (350)"
        in done.stderr
    )


def test_api_refuses_unsafe_visibility_timeout() -> None:
    env = {**os.environ, **UNSAFE}
    done = subprocess.run(
        [sys.executable, "-c", "import docqueue_api.main"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "runs twice" in done.stderr
