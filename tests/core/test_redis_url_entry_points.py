"""Every entry point finds Redis the same way (DOCQUEUE_REDIS_URL, else REDIS_URL), refuses a
conflict, and says which Redis it uses with the password masked."""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from docqueue.redis_url import REDIS_URL_VARIABLES
from docqueue_devstack.redis_server import RedisServer
from docqueue_devstack.stack import Stack
from tests.conftest import TEST_ENV
from tests.support.devstack import devstack
from tests.support.documents import make_pdf
from tests.support.http import submit, wait_terminal

PASSWORD = "entry-points-" + uuid.uuid4().hex


def clean_env(**variables: str) -> dict[str, str]:
    """This process's environment without any Redis URL, plus `variables`."""
    env = {name: value for name, value in os.environ.items() if name not in REDIS_URL_VARIABLES}
    return {**env, **TEST_ENV, **variables}


def docqueue_keys(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "docqueue_api.keys", *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)


ENTRY_POINTS = {
    "api": [sys.executable, "-c", "import docqueue_api.main"],
    "worker": [sys.executable, "-m", "docqueue_worker"],
    "beat": [sys.executable, "-m", "docqueue_beat"],
    "docqueue-keys": [sys.executable, "-m", "docqueue_api.keys", "create", "--tenant", "acme"],
    "make run": [sys.executable, "-m", "docqueue_devstack.run"],
}


@pytest.mark.parametrize("entry_point", sorted(ENTRY_POINTS))
def test_every_entry_point_refuses_two_different_urls(entry_point: str, tmp_path: Path) -> None:
    env = clean_env(
        DOCQUEUE_REDIS_URL=f"redis://:{PASSWORD}@127.0.0.1:1/0",
        REDIS_URL="redis://127.0.0.1:2/0",
        DOCQUEUE_RUN_DIR=str(tmp_path),
    )
    done = subprocess.run(
        ENTRY_POINTS[entry_point], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode != 0
    assert "refusing to start" in done.stderr
    assert "DOCQUEUE_REDIS_URL=redis://:***@127.0.0.1:1/0 and REDIS_URL=redis://127.0.0.1:2/0" in done.stderr
    assert PASSWORD not in done.stderr + done.stdout
    # Refused before anything was started: no Redis of its own, no log directory.
    assert not (tmp_path / "redis").exists()


@pytest.fixture(scope="module")
def locked_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A Redis that requires a password, so a log line that shows the URL would show it."""
    with RedisServer(tmp_path_factory.mktemp("redis"), appendonly=False, password=PASSWORD).start() as server:
        yield server


def test_api_worker_beat_and_keys_all_follow_redis_url(locked_redis: RedisServer, tmp_path: Path) -> None:
    # Only REDIS_URL, as a PaaS add-on sets it: the processes must not fall back to 127.0.0.1:6379.
    stack = Stack(redis_url=locked_redis.url, run_dir=tmp_path, env=TEST_ENV, redis_variable="REDIS_URL")
    try:
        api_process, api_url = stack.start_api()
        worker = stack.start_worker(concurrency=1)
        beat = stack.start_beat()
        made = docqueue_keys(clean_env(REDIS_URL=locked_redis.url), "create", "--tenant", "acme")
        assert made.returncode == 0, made.stderr
        key = made.stdout.strip()
        masked = f"redis://:***@127.0.0.1:{locked_redis.port}/0 (from REDIS_URL)"
        assert f"written to Redis {masked}" in made.stderr
        assert "no docqueue stack seems to use it" not in made.stderr
        with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as api:
            status = wait_terminal(api, submit(api, make_pdf(2)))
        assert status["state"] == "succeeded", status
        for process in (api_process, worker, beat):
            log = process.log_path.read_text()
            assert f"Redis: {masked}" in log, f"{process.name} does not say which Redis it uses"
            assert PASSWORD not in log
    finally:
        stack.stop()


def test_keys_warns_about_a_redis_no_stack_uses(tmp_path: Path) -> None:
    with RedisServer(tmp_path / "redis", appendonly=False).start() as server:
        env = clean_env(DOCQUEUE_REDIS_URL=server.url)
        first = docqueue_keys(env, "create", "--tenant", "acme")
        assert first.returncode == 0, first.stderr
        assert "no docqueue stack seems to use it" in first.stderr
        assert "(from DOCQUEUE_REDIS_URL)" in first.stderr
        # The key is there, and the next key finds docqueue data (the first key).
        assert redis.Redis.from_url(server.url).keys("docqueue:apikey:*")
        second = docqueue_keys(env, "create", "--tenant", "acme")
        assert "no docqueue stack seems to use it" not in second.stderr
        revoked = docqueue_keys(env, "revoke", first.stdout.strip())
        assert revoked.returncode == 0
        assert f"key revoked in Redis {server.url} (from DOCQUEUE_REDIS_URL)" in revoked.stderr


def test_a_key_made_with_redis_url_is_accepted_by_make_run(tmp_path: Path) -> None:
    """The issue's own command: `REDIS_URL=... docqueue-keys create` against a running `make run`."""
    with (
        RedisServer(tmp_path / "redis", appendonly=False).start() as server,
        devstack(tmp_path, env={"REDIS_URL": server.url}) as run,
    ):
        run.wait_running()
        assert f"Redis            {server.url} (from REDIS_URL)" in run.output()
        made = docqueue_keys(clean_env(REDIS_URL=server.url), "create", "--tenant", "acme")
        assert made.returncode == 0, made.stderr
        headers = {"Authorization": f"Bearer {made.stdout.strip()}"}
        answer = httpx.get(f"http://127.0.0.1:{run.api_port}/v1/tasks/{uuid.uuid4()}", headers=headers)
        assert answer.status_code == 404, answer.text  # authenticated: the key is in the stack's Redis
