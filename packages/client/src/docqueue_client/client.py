"""The synchronous Python client.

from docqueue_client import Client

with Client("http://127.0.0.1:8000", api_key="dq_...") as dq:
    accepted = dq.submit("report.pdf")
    task = dq.wait(accepted.task_id, on_progress=lambda t: print(t.percent))
    result = dq.result(task.task_id)
"""

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from docqueue_client.errors import TaskFailed, error_from_response
from docqueue_client.models import Accepted, Task

DEFAULT_URL = "http://127.0.0.1:8000"


class Client:
    """docqueue over HTTP. `base_url` and `api_key` default to DOCQUEUE_URL and DOCQUEUE_API_KEY."""

    def __init__(
        self, base_url: str | None = None, api_key: str | None = None, timeout_s: float = 60.0
    ) -> None:
        self.base_url = (base_url or os.environ.get("DOCQUEUE_URL") or DEFAULT_URL).rstrip("/")
        key = api_key or os.environ.get("DOCQUEUE_API_KEY", "")
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {key}"} if key else {},
            timeout=timeout_s,
        )

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def submit(
        self,
        path: str | Path,
        *,
        chunk_size: int | None = None,
        chunk_overlap: int | None = None,
        idempotency_key: str | None = None,
    ) -> Accepted:
        """Upload a file; returns as soon as docqueue has queued it."""
        path = Path(path)
        data = {
            name: str(value)
            for name, value in (("chunk_size", chunk_size), ("chunk_overlap", chunk_overlap))
            if value is not None
        }
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        with path.open("rb") as handle:
            response = self._http.post(
                "/v1/documents", files={"file": (path.name, handle)}, data=data, headers=headers
            )
        return Accepted.from_json(self._json(response))

    def get(self, task_id: str) -> Task:
        return Task.from_json(self._json(self._http.get(f"/v1/tasks/{task_id}")))

    def result(self, task_id: str) -> dict[str, Any]:
        """The result document: `document`, `pages` and `chunks`."""
        body: dict[str, Any] = self._json(self._http.get(f"/v1/tasks/{task_id}/result"))
        return body

    def cancel(self, task_id: str) -> Task:
        return Task.from_json(self._json(self._http.delete(f"/v1/tasks/{task_id}")))

    def list(
        self, state: str | None = None, limit: int = 20, cursor: str | None = None
    ) -> tuple[list[Task], str | None]:
        params: dict[str, Any] = {"limit": limit}
        if state:
            params["state"] = state
        if cursor:
            params["cursor"] = cursor
        body = self._json(self._http.get("/v1/tasks", params=params))
        return [Task.from_json(item) for item in body["items"]], body.get("next_cursor")

    def wait(
        self,
        task_id: str,
        *,
        on_progress: Callable[[Task], None] | None = None,
        poll_interval_s: float = 0.5,
        timeout_s: float | None = None,
        raise_on_failure: bool = False,
    ) -> Task:
        """Poll until the task is terminal, calling `on_progress` whenever it changed."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        last: tuple[str, str, int] | None = None
        while True:
            task = self.get(task_id)
            current = (task.state, task.stage, task.pages_done)
            if on_progress is not None and current != last:
                on_progress(task)
            last = current
            if task.is_terminal:
                if raise_on_failure and task.state != "succeeded":
                    raise TaskFailed(task)
                return task
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"task {task_id} still {task.state} after {timeout_s}s")
            time.sleep(poll_interval_s)

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if response.is_error:
            raise error_from_response(response.status_code, body, response.headers.get("Retry-After"))
        return body
