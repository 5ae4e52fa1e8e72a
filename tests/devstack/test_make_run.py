"""`make run` never leaves a stack behind, and refuses to start on a taken port."""

import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from docqueue.auth import generate_api_key
from docqueue_devstack.processes import free_port, wait_until
from docqueue_devstack.run import port_is_free
from docqueue_devstack.sentinel import SentinelCluster
from tests.support.devstack import alive, devstack, devstack_env
from tests.support.documents import labelled_pdf, make_pdf
from tests.support.http import submit, wait_terminal

EXPORTER_VENV = Path(__file__).resolve().parents[2] / ".run" / "celery-exporter-venv"

# Ctrl-C, `kill`, the terminal closing, and the devstack itself killed outright.
ENDINGS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL]


@pytest.mark.parametrize("signum", ENDINGS, ids=lambda s: signal.Signals(s).name)
def test_nothing_outlives_make_run(signum: int, tmp_path: Path) -> None:
    # Started as a shell starts a background job (`make run &` in a script): SIGINT ignored, which
    # Python would inherit and keep (then Ctrl-C, or `kill -INT`, did nothing).
    with devstack(tmp_path, sigint_ignored=signum == signal.SIGINT) as run:
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


def test_make_run_on_a_sentinel_url_loses_nothing_when_the_master_is_killed(tmp_path: Path) -> None:
    """`REDIS_URL=redis+sentinel://... make run` against a master, a replica and three sentinels:
    every part of the stack (API, workers, beat, Flower, the celery-exporter) follows the master,
    and killing it with documents in flight loses none."""
    key = generate_api_key()
    exporter_port = free_port()
    with SentinelCluster(tmp_path / "sentinel").start() as cluster:
        run_dir = tmp_path / "run"
        run_dir.mkdir()
        # The celery-exporter's environment `make deps` built, where make run looks for it.
        (run_dir / "celery-exporter-venv").symlink_to(EXPORTER_VENV, target_is_directory=True)
        env = {
            "REDIS_URL": cluster.url,
            "DOCQUEUE_DEV_API_KEY": key,
            "DOCQUEUE_EXPORTER_PORT": str(exporter_port),
        }
        with devstack(tmp_path, env=env) as run:
            run.wait_running()
            assert "(from REDIS_URL)" in run.output()
            assert not (run_dir / "redis").exists(), "make run started a Redis of its own"
            base = f"http://127.0.0.1:{run.api_port}"
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as api:
                ids = [submit(api, labelled_pdf(pages, f"doc {pages}")) for pages in (900, 600, 3, 4, 5)]
                master = cluster.master
                master.kill()
                cluster.wait_failover(master.port)
                ids.append(submit(api, make_pdf(2)))
                finals = [wait_terminal(api, task_id, timeout_s=180) for task_id in ids]
            assert [final["state"] for final in finals] == ["succeeded"] * len(ids)
            flower = httpx.get(f"http://127.0.0.1:{run.flower_port}/flower/healthcheck", timeout=10)
            assert flower.status_code == 200
            exporter = httpx.get(f"http://127.0.0.1:{exporter_port}/health", timeout=10)
            assert exporter.status_code == 200, exporter.text
            for log in (run_dir / "logs").glob("*.log"):
                assert "Unrecoverable error" not in log.read_text(errors="replace"), log.name
