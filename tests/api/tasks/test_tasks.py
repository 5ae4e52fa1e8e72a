"""Dedupe, idempotency, tenancy, listing and cancellation over real HTTP."""

import time
import uuid

import httpx
import redis

from docqueue.auth import Scope
from docqueue.jobs import keys
from tests.conftest import KeyMaker
from tests.support.documents import make_pdf
from tests.support.http import submit, upload, wait_for, wait_terminal


def unique_pdf(pages: int = 2) -> bytes:
    marker = uuid.uuid4().hex
    return make_pdf(pages, lambda n: f"Document {marker} page {n}.")


def test_same_bytes_and_options_return_the_existing_task(api: httpx.Client) -> None:
    data = unique_pdf()
    first = upload(api, data, "a.pdf")
    assert first.status_code == 202
    again = upload(api, data, "renamed.pdf")
    assert again.status_code == 200
    assert again.json()["task_id"] == first.json()["task_id"]
    assert again.json()["deduplicated"] is True
    other_options = upload(api, data, "a.pdf", chunk_size=300)
    assert other_options.status_code == 202
    assert other_options.json()["task_id"] != first.json()["task_id"]


def test_dedupe_is_per_tenant(api_url: str, make_key: KeyMaker) -> None:
    data = unique_pdf()
    ids = []
    for _ in range(2):
        with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {make_key()}"}) as client:
            response = upload(client, data)
            assert response.status_code == 202
            ids.append(response.json()["task_id"])
    assert ids[0] != ids[1]


def test_idempotency_key_returns_the_first_answer(api: httpx.Client) -> None:
    key = {"Idempotency-Key": f"order-{uuid.uuid4()}"}
    data = unique_pdf()
    first = upload(api, data, headers=key)
    assert first.status_code == 202
    replay = upload(api, data, headers=key)
    assert replay.status_code == 202
    assert replay.json() == first.json()
    different = upload(api, unique_pdf(), headers=key)
    assert different.status_code == 422
    assert different.json()["code"] == "idempotency_key_reused"


def test_unknown_and_malformed_ids_are_404(api: httpx.Client) -> None:
    for task_id in (uuid.uuid4().hex, "not-an-id", "../../etc/passwd"):
        for method, path in (("GET", ""), ("GET", "/result"), ("DELETE", "")):
            response = api.request(method, f"/v1/tasks/{task_id}{path}")
            assert response.status_code == 404, (method, path, task_id)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] in ("task_not_found", "not_found")


def test_another_tenants_task_looks_missing(api: httpx.Client, api_url: str, make_key: KeyMaker) -> None:
    task_id = submit(api, unique_pdf())
    wait_terminal(api, task_id)
    with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {make_key()}"}) as other:
        missing = other.get(f"/v1/tasks/{uuid.uuid4().hex}")
        for method, path in (("GET", ""), ("GET", "/result"), ("DELETE", "")):
            response = other.request(method, f"/v1/tasks/{task_id}{path}")
            assert response.status_code == 404
            same = {"instance": None, "request_id": None}
            assert response.json() | same == missing.json() | same
        assert other.get("/v1/tasks").json()["items"] == []


def test_keys_and_scopes(api_url: str, make_key: KeyMaker) -> None:
    anonymous = httpx.get(f"{api_url}/v1/tasks")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert anonymous.json()["code"] == "unauthorized"
    wrong = httpx.get(f"{api_url}/v1/tasks", headers={"Authorization": "Bearer dq_nope"})
    assert wrong.status_code == 401
    read_only = {"Authorization": f"Bearer {make_key(scopes={Scope.READ})}"}
    with httpx.Client(base_url=api_url, headers=read_only) as client:
        refused = upload(client, unique_pdf())
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"
        assert client.get("/v1/tasks").status_code == 200


def test_list_filters_by_state_and_paginates(api: httpx.Client) -> None:
    ids = [submit(api, unique_pdf()) for _ in range(5)]
    for task_id in ids:
        wait_terminal(api, task_id)
    failed = submit(api, b"%PDF-1.4 garbage", "bad.pdf")
    wait_terminal(api, failed)

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/tasks", params=params).json()
        seen += [item["task_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [failed, *reversed(ids)]
    only_failed = api.get("/v1/tasks", params={"state": "failed"}).json()["items"]
    assert [item["task_id"] for item in only_failed] == [failed]
    assert api.get("/v1/tasks", params={"cursor": "!!"}).status_code == 400
    assert api.get("/v1/tasks", params={"state": "bogus"}).status_code == 422


def test_cancel_running_task_stops_at_next_page(api: httpx.Client, redis_client: redis.Redis) -> None:
    task_id = submit(api, make_pdf(1500))
    wait_for(api, task_id, lambda body: body["progress"]["pages_done"] > 0)
    cancelled = api.delete(f"/v1/tasks/{task_id}")
    assert cancelled.status_code == 202
    assert cancelled.json()["state"] == "cancelled"
    assert cancelled.json()["error"]["code"] == "cancelled"
    time.sleep(1.0)  # the worker's run notices at its next progress write and stops
    task = api.get(f"/v1/tasks/{task_id}").json()
    assert task["state"] == "cancelled"
    assert task["progress"]["pages_done"] < 1500
    assert api.get(f"/v1/tasks/{task_id}/result").status_code == 409
    assert redis_client.hget(keys.job(task_id), "result_key") is None
    again = api.delete(f"/v1/tasks/{task_id}")
    assert again.status_code == 202
    assert again.json()["state"] == "cancelled"


def test_finished_task_cannot_be_cancelled(api: httpx.Client) -> None:
    task_id = submit(api, unique_pdf())
    wait_terminal(api, task_id)
    response = api.delete(f"/v1/tasks/{task_id}")
    assert response.status_code == 409
    assert response.json()["code"] == "task_not_cancellable"
