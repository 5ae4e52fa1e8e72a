"""`make run` never leaves a stack behind, and refuses to start on a taken port."""

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from docqueue_devstack.processes import free_port, wait_until
from docqueue_devstack.run import port_is_free
from tests.support.devstack import alive, devstack, devstack_env

# Ctrl-C, `kill`, the terminal closing, and the devstack itself killed outright.
ENDINGS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL]


@pytest.mark.parametrize("signum", ENDINGS, ids=lambda s: signal.Signals(s).name)
def test_nothing_outlives_make_run(signum: int, tmp_path: Path) -> None:
    with devstack(tmp_path) as run:
        run.wait_running()
        started = run.descendants()
        # Redis, api, two workers with their pools, beat, Flower and the reaper.
        assert len(started) >= 8, started
        run.popen.send_signal(signum)
        run.popen.wait(60)

        def left() -> set[int]:
            return {pid for pid in started if alive(pid)}

        assert wait_until(lambda: not left(), timeout_s=60), f"still running: {left()}\n{run.output()}"
        assert port_is_free(run.api_port)
        assert port_is_free(run.flower_port)
        if signum != signal.SIGKILL:
            assert run.popen.returncode == 0, run.output()
            assert "stopping docqueue" in run.output()
            assert not (run.run_dir / "devstack.pid").exists()


def refused_start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`make run` that must refuse to start (it is given a minute to say so)."""
    command = [sys.executable, "-m", "docqueue_devstack.run"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_a_second_make_run_on_the_same_ports_is_refused(tmp_path: Path) -> None:
    with devstack(tmp_path) as first:
        first.wait_running()
        second = refused_start(devstack_env(first.run_dir, first.api_port, first.flower_port, {}))
        assert second.returncode != 0
        assert f"port {first.api_port} (for the API) is already in use" in second.stderr
        assert f"an earlier `make run` is still running (pid {first.popen.pid})" in second.stderr
        assert "docqueue is running" not in second.stdout
        assert first.popen.poll() is None, "the refused start must not touch the running stack"


def test_a_port_taken_by_something_else_is_named(tmp_path: Path) -> None:
    with socket.socket() as holder:
        port = free_port()
        holder.bind(("127.0.0.1", port))
        holder.listen()
        refused = refused_start(devstack_env(tmp_path / "run", free_port(), port, {}))
    assert refused.returncode != 0
    assert f"port {port} (for Flower) is already in use" in refused.stderr
    assert "choose other ports" in refused.stderr
    # Nothing was started: no Redis of its own.
    assert not (tmp_path / "run" / "redis").exists()
