"""Helpers for talking to a running API in tests."""

import time
from typing import Any

import httpx

TERMINAL = {"succeeded", "failed", "cancelled", "dead_lettered"}


def upload(
    api: httpx.Client,
    data: bytes,
    filename: str = "doc.pdf",
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> httpx.Response:
    return api.post(
        "/v1/documents",
        files={"file": (filename, data, "application/octet-stream")},
        data={name: str(value) for name, value in fields.items()},
        headers=headers or {},
    )


def submit(api: httpx.Client, data: bytes, filename: str = "doc.pdf", **fields: Any) -> str:
    response = upload(api, data, filename, **fields)
    assert response.status_code == 202, response.text
    task_id: str = response.json()["task_id"]
    return task_id


def wait_terminal(api: httpx.Client, task_id: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body: dict[str, Any] = api.get(f"/v1/tasks/{task_id}").json()
        if body["state"] in TERMINAL:
            return body
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} not terminal after {timeout_s}s: {body}")


def wait_for(api: httpx.Client, task_id: str, predicate: Any, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body: dict[str, Any] = api.get(f"/v1/tasks/{task_id}").json()
        if predicate(body):
            return body
        time.sleep(0.02)
    raise AssertionError(f"task {task_id} never matched: {body}")
