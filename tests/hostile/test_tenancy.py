"""Keys, scopes, tenants and the rate limit, checked on every route the app has."""

import subprocess
import sys
import time
import uuid
from typing import Any

import httpx
import pytest
import redis

from docqueue import names
from docqueue.auth import Scope, hash_api_key
from docqueue.dead_letters import dead_letter_fields
from docqueue.jobs import keys
from docqueue.jobs.commands import Update
from docqueue.jobs.model import JobState
from docqueue.jobs.store import JobStore
from docqueue_api.app import create_app
from docqueue_api.settings import ApiSettings
from tests.hostile.conftest import HostileStack
from tests.hostile.routes import PUBLIC, all_routes
from tests.support.documents import make_pdf
from tests.support.http import wait_terminal

SAME = {"instance": None, "request_id": None}
# Headers that differ between any two requests (the time, the request's own id).
PER_REQUEST = {"date", "x-request-id"}


def headers(response: httpx.Response) -> dict[str, str]:
    """Every header with its value, except the ones each request has its own of."""
    return {name: value for name, value in response.headers.items() if name not in PER_REQUEST}


def openapi_operations(api_url: str) -> list[tuple[str, str, dict[str, Any]]]:
    schema = httpx.get(f"{api_url}/openapi.json").json()
    return [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]


def concrete(path: str, task_id: str) -> str:
    return path.replace("{task_id}", task_id)


def test_every_route_checks_a_scope_or_is_public() -> None:
    routes = all_routes(create_app(ApiSettings()))
    unguarded = [(r.method, r.path) for r in routes if not r.scopes and (r.method, r.path) not in PUBLIC]
    assert unguarded == [], f"routes without a scope check: {unguarded}"
    # The walk sees every documented operation (so a route it missed cannot hide from this test).
    walked = {(r.method, r.path) for r in routes}
    documented = {(method, path) for method, path, _ in openapi_operations_of_app()}
    assert documented <= walked


def openapi_operations_of_app() -> list[tuple[str, str, dict[str, Any]]]:
    schema = create_app(ApiSettings()).openapi()
    return [(m.upper(), p, op) for p, item in schema["paths"].items() for m, op in item.items()]


def test_scopes_are_enforced_over_http(hostile: HostileStack) -> None:
    routes = {(r.method, r.path): r.scopes for r in all_routes(create_app(ApiSettings()))}
    task_id = uuid.uuid4().hex
    checked = 0
    for method, path, operation in openapi_operations(hostile.api_url):
        if not operation.get("security"):
            continue
        required = routes[(method, path)]
        url = f"{hostile.api_url}{concrete(path, task_id)}"
        anonymous = httpx.request(method, url)
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.headers["www-authenticate"] == "Bearer"
        bogus = httpx.request(method, url, headers={"Authorization": "Bearer dq_" + "x" * 43})
        assert bogus.status_code == 401, (method, path)
        lacking = hostile.key(scopes=set(Scope) - required)
        refused = httpx.request(method, url, headers={"Authorization": f"Bearer {lacking}"})
        assert refused.status_code == 403, (method, path, refused.text)
        assert refused.json()["code"] == "forbidden"
        checked += 1
    assert checked >= 8


def dead_letter(hostile: HostileStack, task_id: str) -> None:
    """Dead-letter a job through the job store's own transition (as the worker and beat do)."""
    now = time.time()
    JobStore(hostile.redis, retention_s=3600).update(
        Update(
            task_id=task_id,
            now=now,
            set={"state": JobState.DEAD_LETTERED, "error_code": "internal_error", "finished_at": now},
            terminal=True,
            dead_letter=dead_letter_fields(names.PROCESS_DOCUMENT, [task_id], "internal_error", "test", ""),
        )
    )


def test_another_tenant_is_indistinguishable_from_nothing_on_every_route(hostile: HostileStack) -> None:
    with hostile.client() as owner, hostile.client() as stranger:
        task_id = owner.post(
            "/v1/documents", files={"file": ("a.pdf", make_pdf(1, lambda _: uuid.uuid4().hex))}
        ).json()["task_id"]
        wait_terminal(owner, task_id)
        dead_letter(hostile, task_id)
        assert owner.get(f"/v1/dead-letters/{task_id}").status_code == 200
        unknown = uuid.uuid4().hex
        compared = []
        for method, path, _ in openapi_operations(hostile.api_url):
            if "{task_id}" not in path:
                continue
            theirs = stranger.request(method, concrete(path, task_id))
            nothing = stranger.request(method, concrete(path, unknown))
            assert theirs.status_code == nothing.status_code == 404, (method, path, theirs.text)
            assert theirs.json() | SAME == nothing.json() | SAME, (method, path)
            assert headers(theirs) == headers(nothing), (method, path)
            compared.append((method, path))
        for method, path, _ in openapi_operations(hostile.api_url):
            if method == "GET" and "{" not in path and path.startswith("/v1/"):
                listed = stranger.get(path)
                assert listed.status_code == 200, path
                assert task_id not in listed.text, path
        # Nothing the stranger did changed the owner's task or dead letter.
        assert owner.get(f"/v1/tasks/{task_id}").json()["state"] == "dead_lettered"
        assert owner.get(f"/v1/dead-letters/{task_id}").status_code == 200
        assert task_id in owner.get("/v1/tasks").text
    assert {path for _, path in compared} >= {
        "/v1/tasks/{task_id}",
        "/v1/tasks/{task_id}/result",
        "/v1/tasks/{task_id}/events",
        "/v1/dead-letters/{task_id}",
        "/v1/dead-letters/{task_id}/replay",
    }


def stored_values(client: redis.Redis, name: bytes) -> list[Any]:
    """Every member, field and value held under one Redis key, whatever its type."""
    kind = client.type(name)
    if kind == b"string":
        return [client.get(name) or b""]
    if kind == b"hash":
        return [part for pair in client.hgetall(name).items() for part in pair]
    if kind == b"list":
        return list(client.lrange(name, 0, -1))
    if kind == b"set":
        return list(client.smembers(name))
    if kind == b"zset":
        return list(client.zrange(name, 0, -1))
    if kind == b"stream":
        entries = client.xrange(name) or []
        return [part for _, fields in entries for pair in (fields or {}).items() for part in pair]
    if kind == b"none":  # expired between the scan and the read
        return []
    raise AssertionError(f"{name!r} has a type this test does not read: {kind!r}")


def test_keys_are_stored_only_as_digests(hostile: HostileStack) -> None:
    key = hostile.key()
    with hostile.client(key) as client:  # through auth, its cache, the rate limiter, a job and its queue
        task_id = client.post("/v1/documents", files={"file": ("a.txt", b"digests")}).json()["task_id"]
        wait_terminal(client, task_id)
    record = hostile.redis.get(keys.api_key(hash_api_key(key)))
    assert record is not None
    names = list(hostile.redis.scan_iter("*"))
    assert any(task_id.encode() in name for name in names), "the job left nothing to inspect"
    for name in names:
        assert key.encode() not in name
        for value in stored_values(hostile.redis, name):
            assert key.encode() not in value, name


def keys_cli(hostile: HostileStack, *args: str) -> str:
    env = {**hostile.stack.base_env(), "DOCQUEUE_REDIS_URL": hostile.stack.redis_url}
    done = subprocess.run(
        [sys.executable, "-m", "docqueue_api.keys", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_rotation_two_keys_valid_at_once_then_the_old_one_revoked(hostile: HostileStack) -> None:
    url = hostile.start_api({"DOCQUEUE_API_KEY_CACHE_S": "0.5"})
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    old = keys_cli(hostile, "create", "--tenant", tenant, "--scopes", "submit,read", "--name", "2026-q3")
    with hostile.client(old, url) as client:
        task_id = client.post("/v1/documents", files={"file": ("a.txt", b"rotation")}).json()["task_id"]
    new = keys_cli(hostile, "create", "--tenant", tenant, "--scopes", "submit,read", "--name", "2026-q4")
    for key in (old, new):  # both work, and both see the tenant's tasks
        with hostile.client(key, url) as client:
            assert client.get(f"/v1/tasks/{task_id}").status_code == 200
    keys_cli(hostile, "revoke", hash_api_key(old))
    deadline = time.monotonic() + 5
    while httpx.get(f"{url}/v1/tasks", headers={"Authorization": f"Bearer {old}"}).status_code != 401:
        assert time.monotonic() < deadline, "the revoked key still works"
        time.sleep(0.1)
    with hostile.client(new, url) as client:
        assert client.get(f"/v1/tasks/{task_id}").status_code == 200


def test_rate_limit_is_per_tenant_and_says_when_to_come_back(hostile: HostileStack) -> None:
    url = hostile.start_api({"DOCQUEUE_RATE_LIMIT_PER_S": "2", "DOCQUEUE_RATE_LIMIT_BURST": "5"})
    with hostile.client(url=url) as busy, hostile.client(url=url) as quiet:
        statuses = [busy.get("/v1/tasks").status_code for _ in range(12)]
        assert statuses[:5] == [200] * 5
        assert 429 in statuses[5:]
        limited = busy.get("/v1/tasks")
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "application/problem+json"
        assert limited.json()["code"] == "rate_limited"
        retry_after_s = int(limited.headers["retry-after"])
        assert 1 <= retry_after_s <= 5
        assert quiet.get("/v1/tasks").status_code == 200  # another tenant is not affected
        time.sleep(retry_after_s)
        assert busy.get("/v1/tasks").status_code == 200


@pytest.mark.parametrize("header", ["Bearer", "Basic dXNlcjpwYXNz", "Bearer " + "A" * 10_000, "dq_x"])
def test_malformed_authorization_is_401(hostile: HostileStack, header: str) -> None:
    response = httpx.get(f"{hostile.api_url}/v1/tasks", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
