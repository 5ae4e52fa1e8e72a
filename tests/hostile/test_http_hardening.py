"""Security headers, CORS, request ids and problem+json on every kind of answer."""

import re
import uuid

import httpx
import pytest

from docqueue_api.app import create_app
from docqueue_api.middleware.security_headers import HEADERS
from docqueue_api.settings import ApiSettings
from docqueue_devstack.processes import free_port
from tests.hostile.conftest import HostileStack
from tests.hostile.wire import send_raw

PROBLEM = "application/problem+json"


def answers(hostile: HostileStack) -> dict[str, httpx.Response]:
    key = hostile.key()
    auth = {"Authorization": f"Bearer {key}"}
    url = hostile.api_url
    return {
        "200 healthz": httpx.get(f"{url}/healthz"),
        "200 list": httpx.get(f"{url}/v1/tasks", headers=auth),
        "200 openapi": httpx.get(f"{url}/openapi.json"),
        "401": httpx.get(f"{url}/v1/tasks"),
        "404 task": httpx.get(f"{url}/v1/tasks/{uuid.uuid4().hex}", headers=auth),
        "404 route": httpx.get(f"{url}/nowhere"),
        "405": httpx.put(f"{url}/v1/tasks", headers=auth),
        "413": httpx.post(f"{url}/v1/tasks", headers=auth, content=b"x" * 200_000),
        "415": httpx.post(
            f"{url}/v1/documents", headers=auth, files={"file": ("a.pdf", b"GIF89a" + bytes(64))}
        ),
        "422": httpx.get(f"{url}/v1/tasks", params={"limit": "lots"}, headers=auth),
    }


def test_every_answer_has_the_security_headers_and_a_request_id(hostile: HostileStack) -> None:
    for name, response in answers(hostile).items():
        for header, value in HEADERS.items():
            assert response.headers.get(header) == value, (name, header)
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"]), name
        status = response.status_code
        if status >= 400:
            assert response.headers["content-type"] == PROBLEM, name
            problem = response.json()
            assert problem["status"] == status, name
            assert problem["request_id"] == response.headers["x-request-id"], name
            assert problem["code"], name


def test_the_413_status_is_for_bodies_over_the_cap(hostile: HostileStack) -> None:
    assert answers(hostile)["413"].status_code == 413


def test_request_id_is_echoed_when_sane_and_replaced_when_not(hostile: HostileStack) -> None:
    sane = "req-" + uuid.uuid4().hex
    echoed = httpx.get(f"{hostile.api_url}/v1/tasks", headers={"X-Request-ID": sane})
    assert echoed.headers["x-request-id"] == sane
    assert echoed.json()["request_id"] == sane
    for bad in ("a" * 500, "evil value; with spaces", "<script>", "\u00e9t\u00e9"):
        response = httpx.get(f"{hostile.api_url}/healthz", headers=[(b"X-Request-ID", bad.encode("utf-8"))])
        assert response.headers["x-request-id"] != bad
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_cors_is_closed_by_default(hostile: HostileStack) -> None:
    origin = {"Origin": "https://evil.example"}
    simple = httpx.get(f"{hostile.api_url}/healthz", headers=origin)
    assert "access-control-allow-origin" not in simple.headers
    preflight = httpx.options(
        f"{hostile.api_url}/v1/documents",
        headers={**origin, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code == 405
    assert preflight.headers["content-type"] == PROBLEM


def test_cors_allows_only_the_configured_origins(hostile: HostileStack) -> None:
    url = hostile.start_api({"DOCQUEUE_CORS_ALLOW_ORIGINS": "https://app.example.com"})
    good = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"}
    preflight = httpx.options(
        f"{url}/v1/documents", headers={**good, "Access-Control-Request-Headers": "authorization"}
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
    assert (
        "X-Request-ID"
        in httpx.get(f"{url}/healthz", headers={"Origin": good["Origin"]}).headers[
            "access-control-expose-headers"
        ]
    )
    evil = httpx.options(
        f"{url}/v1/documents",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in evil.headers
    assert evil.status_code == 400


def test_openapi_declares_every_problem_each_route_can_answer() -> None:
    schema = create_app(ApiSettings()).openapi()
    problem_ref = "#/components/schemas/Problem"
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            expected = set()
            if operation.get("security"):
                expected |= {"401", "403", "429", "503"}
            if operation.get("parameters") or operation.get("requestBody"):
                expected.add("422")
            if "{task_id}" in path:
                expected.add("404")
            assert expected <= set(responses), (method, path, expected - set(responses))
            for status, response in responses.items():
                if int(status) >= 400:
                    content = response["content"]
                    assert list(content) == [PROBLEM], (method, path, status)
                    assert content[PROBLEM]["schema"] == {"$ref": problem_ref}, (method, path, status)
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    upload = schema["paths"]["/v1/documents"]["post"]["responses"]
    assert {"400", "413", "415", "422", "429", "503"} <= set(upload)


@pytest.mark.parametrize("path", ["/v1/tasks", "/v1/documents"])
def test_declared_length_over_the_route_cap_is_413_before_auth(hostile: HostileStack, path: str) -> None:
    answer = send_raw(
        hostile.api_url, path, {"Content-Length": str(10**12)}, iter([b"x" * 1024]), chunked=False
    )
    assert answer.status == 413
    assert answer.headers["content-type"] == PROBLEM


def test_405_names_every_method_of_the_path(hostile: HostileStack) -> None:
    response = httpx.put(f"{hostile.api_url}/v1/tasks/{uuid.uuid4().hex}")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, DELETE"
    assert response.headers["content-type"] == PROBLEM


def test_redis_down_is_503_problem_with_retry_after(hostile: HostileStack) -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    url = hostile.start_api({"DOCQUEUE_REDIS_URL": nowhere, "DOCQUEUE_BROKER_URL": nowhere})
    response = httpx.get(f"{url}/v1/tasks", headers={"Authorization": "Bearer dq_whatever"}, timeout=30)
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["request_id"] == response.headers["x-request-id"]
    for header, value in HEADERS.items():
        assert response.headers.get(header) == value
