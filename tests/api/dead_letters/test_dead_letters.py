"""Dead letters end to end: a job times out, an admin inspects it (API and CLI), raises the limit,
replays it under the same task id with its history kept, and purges the rest."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from docqueue.auth import Scope
from docqueue_devstack.stack import Stack
from tests.conftest import TEST_ENV
from tests.support.documents import make_pdf, page_text
from tests.support.http import submit, wait_terminal
from tests.support.keys import tenant_key
from tests.support.stacks import private_stack

SHORT_LIMITS = {"DOCQUEUE_TASK_SOFT_TIME_LIMIT_S": "1", "DOCQUEUE_TASK_TIME_LIMIT_S": "3"}
SLOW_PAGES = 1900  # several seconds of work, under the default page cap


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Stack, str, redis.Redis]]:
    with private_stack(tmp_path, TEST_ENV) as private:
        yield private.stack, private.api_url, private.redis


def slow_pdf(label: str) -> bytes:
    """Full pages, so extracting them takes seconds: far past the hurried worker's 1 s limit."""
    return make_pdf(SLOW_PAGES, lambda number: f"{label} {page_text(number)}")


def cli(url: str, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DOCQUEUE_URL=url, DOCQUEUE_API_KEY=key)
    command = [sys.executable, "-m", "docqueue_client", "dead-letters", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_inspect_replay_and_purge(stack: tuple[Stack, str, redis.Redis]) -> None:
    processes, url, client = stack
    admin, other_admin = tenant_key(client, "acme"), tenant_key(client, "globex")
    submitter = tenant_key(client, "acme", {Scope.SUBMIT, Scope.READ})
    hurried = processes.start_worker(name="hurried", env=SHORT_LIMITS)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}, timeout=30) as api:
        slow = submit(api, slow_pdf("slow"))
        slower = submit(api, slow_pdf("slower"))
        for task_id in (slow, slower):
            task = wait_terminal(api, task_id)
            assert task["state"] == "dead_lettered"
            assert task["error"] == {
                "code": "timeout",
                "message": task["error"]["message"],
                "retryable": True,
            }

        listed = api.get("/v1/dead-letters").json()
        assert [item["task_id"] for item in listed["items"]] == [slower, slow]
        letter = api.get(f"/v1/dead-letters/{slow}").json()
        assert letter["error_code"] == "timeout"
        assert letter["task_name"] == "documents.process"
        assert letter["attempts"] == 1
        assert "SoftTimeLimitExceeded" in letter["traceback"]
        assert [entry["event"] for entry in letter["history"]] == ["created", "started", "dead_lettered"]

        # Other tenants and non-admins see nothing of it.
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {other_admin}"}) as other:
            assert other.get("/v1/dead-letters").json()["items"] == []
            assert other.get(f"/v1/dead-letters/{slow}").status_code == 404
            assert other.post(f"/v1/dead-letters/{slow}/replay").status_code == 404
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {submitter}"}) as plain:
            assert plain.get("/v1/dead-letters").status_code == 403

        shown = cli(url, admin, "show", slow, "--json")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["task_id"] == slow
        listed_cli = cli(url, admin, "list", "--json")
        assert [row["task_id"] for row in json.loads(listed_cli.stdout)] == [slower, slow]

        # The operator gives workers more time, then replays.
        hurried.stop()
        processes.start_worker(name="patient")
        replayed = cli(url, admin, "replay", slow, "--json")
        assert replayed.returncode == 0, replayed.stderr
        assert json.loads(replayed.stdout)["task_id"] == slow
        task = wait_terminal(api, slow)
        assert task["state"] == "succeeded"
        assert task["attempts"] == 1
        history = [json.loads(raw)["event"] for raw in client.lrange(f"docqueue:job:{slow}:history", 0, -1)]
        assert history == ["created", "started", "dead_lettered", "replayed", "started", "succeeded"]
        assert api.get(f"/v1/dead-letters/{slow}").status_code == 404
        assert api.post(f"/v1/dead-letters/{slow}/replay").status_code == 404

        purged = cli(url, admin, "purge", "--all", "--json")
        assert json.loads(purged.stdout) == {"purged": 1}
        assert api.get("/v1/dead-letters").json()["items"] == []
        assert api.get(f"/v1/tasks/{slower}").json()["state"] == "dead_lettered"
