"""Lifetimes: every task says when it expires; an upload's `ttl_s` shortens that within the
tenant's and the deployment's retention; DELETE /v1/tasks/{id}/result removes the result and the
upload from the blob store at once, and the result then answers 410."""

import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import redis

from docqueue.jobs import keys
from docqueue.settings import Settings
from docqueue_api.keys import main as keys_main
from docqueue_devstack.stack import Stack
from tests.conftest import KeyMaker
from tests.support.documents import make_pdf
from tests.support.held_jobs import hold_job
from tests.support.http import upload, wait_terminal

RETENTION_S = Settings().retention_s


def unique_pdf() -> bytes:
    marker = uuid.uuid4().hex
    return make_pdf(1, lambda _: f"Lifetime {marker}.")


def blobs_of(stack: Stack, task_id: str) -> list[Path]:
    return [path for path in (stack.run_dir / "blobs").rglob("*") if task_id in str(path) and path.is_file()]


def expires_in_s(task: dict[str, str]) -> float:
    return datetime.fromisoformat(task["expires_at"]).timestamp() - time.time()


def test_every_task_says_when_it_expires(api: httpx.Client) -> None:
    task_id = upload(api, unique_pdf(), "a.pdf").json()["task_id"]
    task = wait_terminal(api, task_id)
    # The deployment's retention after it ended.
    finished = datetime.fromisoformat(task["finished_at"]).timestamp()
    assert datetime.fromisoformat(task["expires_at"]).timestamp() == pytest.approx(
        finished + RETENTION_S, abs=1
    )
    assert task["result_deleted_at"] is None


def test_ttl_s_shortens_the_lifetime_and_retention_follows_it(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    answer = upload(api, unique_pdf(), "short.pdf", ttl_s=600)
    assert answer.status_code == 202, answer.text
    task = wait_terminal(api, answer.json()["task_id"])
    assert expires_in_s(task) == pytest.approx(600, abs=30)
    # The expiry index beat's retention reads, and the record's own backstop, follow it too.
    score = redis_client.zscore(keys.JOB_EXPIRY, task["task_id"])
    assert score is not None
    assert score - time.time() == pytest.approx(600, abs=30)
    assert 0 < redis_client.ttl(keys.job(task["task_id"])) <= 600 + 24 * 3600


@pytest.mark.parametrize("ttl", ["59", "ten", "-5", str(RETENTION_S + 1)])
def test_a_ttl_outside_the_retention_is_a_422(api: httpx.Client, ttl: str) -> None:
    answer = upload(api, unique_pdf(), "bad.pdf", ttl_s=ttl)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "validation_error"
    assert "ttl_s" in answer.json()["detail"]


def test_a_tenants_maximum_bounds_its_uploads(
    api_url: str,
    make_key: KeyMaker,
    redis_url: str,
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    # docqueue-keys as an operator runs it, against the suite's Redis.
    monkeypatch.setenv("DOCQUEUE_REDIS_URL", redis_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    keys_main(["retention", "--tenant", tenant, "--max-s", "3600"])
    with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {make_key(tenant)}"}) as api:
        plain = wait_terminal(api, upload(api, unique_pdf(), "t.pdf").json()["task_id"])
        assert expires_in_s(plain) == pytest.approx(3600, abs=30)
        over = upload(api, unique_pdf(), "t.pdf", ttl_s=7200)
        assert over.status_code == 422
        assert "3600" in over.json()["detail"]
    keys_main(["retention", "--tenant", tenant, "--clear"])
    assert redis_client.hget(keys.TENANT_MAX_RETENTION, tenant) is None


def test_deleting_the_result_removes_it_and_the_upload_at_once(api: httpx.Client, stack: Stack) -> None:
    document = unique_pdf()
    task_id = upload(api, document, "secret.pdf").json()["task_id"]
    assert wait_terminal(api, task_id)["state"] == "succeeded"
    assert blobs_of(stack, task_id), "the upload and the result are stored"
    deleted = api.delete(f"/v1/tasks/{task_id}/result")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["result_deleted_at"] is not None
    assert blobs_of(stack, task_id) == []
    gone = api.get(f"/v1/tasks/{task_id}/result")
    assert gone.status_code == 410
    assert gone.json()["code"] == "result_deleted"
    # The status stays and says so; deleting again is harmless.
    assert api.get(f"/v1/tasks/{task_id}").json()["result_deleted_at"] == deleted.json()["result_deleted_at"]
    assert api.delete(f"/v1/tasks/{task_id}/result").status_code == 200
    # The same bytes again are a new task, not the one without its result.
    again = upload(api, document, "secret.pdf")
    assert again.status_code == 202
    assert again.json()["task_id"] != task_id


def test_a_running_tasks_result_cannot_be_deleted(api_url: str, make_key: KeyMaker, redis_url: str) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    held = hold_job(redis_url, tenant)
    with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {make_key(tenant)}"}) as api:
        answer = api.delete(f"/v1/tasks/{held.task_id}/result")
    assert answer.status_code == 409
    assert answer.json()["code"] == "task_not_finished"
