"""The worker's liveness probe fails when the consumer stops consuming, not only when it dies:
checked against a real `celery worker` whose event loop is frozen, whose queues are cancelled and
whose broker disappears."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from docqueue.celery_app import create_celery_app
from docqueue.settings import Settings
from docqueue_devstack.processes import Process, wait_until
from docqueue_devstack.redis_server import RedisServer
from docqueue_devstack.stack import Stack
from docqueue_worker.liveness import LivenessConfig, heartbeat_age_s
from docqueue_worker.settings import WorkerSettings
from tests.conftest import TEST_ENV

INTERVAL_S = 0.5
MAX_AGE_S = 3.0


def probe(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Exactly what the kubelet runs in the pod."""
    return subprocess.run(
        [sys.executable, "-m", "docqueue_worker.liveness"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def live(env: dict[str, str]) -> bool:
    return probe(env).returncode == 0


def test_config_refuses_an_interval_that_cannot_keep_the_file_fresh() -> None:
    with pytest.raises(ValueError, match="INTERVAL"):
        LivenessConfig.from_env({"DOCQUEUE_LIVENESS_INTERVAL_S": "60", "DOCQUEUE_LIVENESS_MAX_AGE_S": "30"})


def test_age_of_a_missing_file_is_none(tmp_path: Path) -> None:
    assert heartbeat_age_s(tmp_path / "never", time.time()) is None
    (tmp_path / "beat").touch()
    age = heartbeat_age_s(tmp_path / "beat", time.time() + 5)
    assert age is not None
    assert 4 < age < 7


def test_probe_fails_when_the_file_was_never_written(tmp_path: Path) -> None:
    result = probe({"DOCQUEUE_LIVENESS_FILE": str(tmp_path / "missing")})
    assert result.returncode == 1
    assert "never written" in result.stderr


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own: the broker-loss case stops it."""
    with RedisServer(tmp_path / "redis", appendonly=False).start() as server:
        yield server


@pytest.fixture
def worker(private_redis: RedisServer, tmp_path: Path) -> Iterator[tuple[Process, dict[str, str], Stack]]:
    env = {
        **TEST_ENV,
        "DOCQUEUE_LIVENESS_FILE": str(tmp_path / "alive"),
        "DOCQUEUE_LIVENESS_INTERVAL_S": str(INTERVAL_S),
        "DOCQUEUE_LIVENESS_MAX_AGE_S": str(MAX_AGE_S),
    }
    stack = Stack(redis_url=private_redis.url, run_dir=tmp_path, env=env)
    process = stack.start_worker(name="liveness", concurrency=1)
    try:
        yield process, env, stack
    finally:
        process.send_signal(signal.SIGCONT)
        stack.stop()


def test_a_frozen_event_loop_is_detected_and_recovers(worker: tuple[Process, dict[str, str], Stack]) -> None:
    process, env, _ = worker
    assert wait_until(lambda: live(env), timeout_s=10), probe(env).stderr
    process.send_signal(signal.SIGSTOP)  # the process exists, its consumer does nothing
    try:
        time.sleep(MAX_AGE_S + 1)
        result = probe(env)
        assert result.returncode == 1, "a frozen consumer must fail the probe"
        assert "last beat" in result.stderr
    finally:
        process.send_signal(signal.SIGCONT)
    assert wait_until(lambda: live(env), timeout_s=10)


def test_a_worker_consuming_no_queue_is_not_live(
    worker: tuple[Process, dict[str, str], Stack], private_redis: RedisServer
) -> None:
    """The process answers control commands, its loop runs, but it consumes nothing."""
    _, env, _ = worker
    assert wait_until(lambda: live(env), timeout_s=10)
    app = create_celery_app(Settings(redis_url=private_redis.url))
    node = f"liveness@{socket.gethostname()}"
    for queue in WorkerSettings().queues.split(","):  # every queue it consumes by default
        replies = app.control.cancel_consumer(queue, destination=[node], reply=True, timeout=5)
        assert replies, f"{node} did not answer cancel_consumer({queue})"
    assert wait_until(lambda: not live(env), timeout_s=MAX_AGE_S + 5)
    app.control.add_consumer("documents", destination=[node], reply=True, timeout=5)
    assert wait_until(lambda: live(env), timeout_s=10)
    app.close()


def test_a_lost_broker_is_detected_and_recovers(
    worker: tuple[Process, dict[str, str], Stack], private_redis: RedisServer
) -> None:
    process, env, _ = worker
    assert wait_until(lambda: live(env), timeout_s=10)
    private_redis.stop()
    assert wait_until(lambda: not live(env), timeout_s=MAX_AGE_S + 10), "reconnecting is not consuming"
    assert process.alive(), "the worker itself keeps retrying; only the probe may restart it"
    private_redis.start()
    assert wait_until(lambda: live(env), timeout_s=30), process.log_tail()
