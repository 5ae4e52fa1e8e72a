"""The synchronous Python client.

from docqueue_client import Client

with Client("http://127.0.0.1:8000", api_key="dq_...") as dq:
    task = dq.submit("report.pdf")
    final = task.wait(on_progress=lambda s: print(f"{s.stage} {s.percent:.0f}%"))
    if final.succeeded:
        chunks = task.result()["chunks"]
"""

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Unpack

import httpx

from docqueue_client import _common
from docqueue_client.batches import Batches
from docqueue_client.dead_letters import DeadLetters
from docqueue_client.errors import EventsUnavailable, TaskFailed
from docqueue_client.models import Accepted, TaskStatus
from docqueue_client.streams import follow_events

ProgressCallback = Callable[[TaskStatus], object]


class Task:
    """A handle on one task: follow it, fetch its result, cancel it.

    task = dq.submit("report.pdf")
    task.wait(on_progress=print)      # live over Server-Sent Events, polling if need be
    pages = task.result()["pages"]
    """

    def __init__(self, client: "Client", accepted: Accepted, finished: TaskStatus | None = None) -> None:
        self.client = client
        self.accepted = accepted
        self.task_id = accepted.task_id
        # Set when the upload asked `Prefer: wait` and the task ended within it.
        self.finished = finished

    def __repr__(self) -> str:
        return f"Task({self.task_id!r})"

    def status(self) -> TaskStatus:
        """The task's state, stage and progress now."""
        return self.client.get(self.task_id)

    def wait(
        self,
        on_progress: ProgressCallback | None = None,
        *,
        timeout_s: float | None = None,
        raise_on_failure: bool = False,
        use_events: bool = True,
    ) -> TaskStatus:
        """Block until the task ends and return its final status; `on_progress` is called with
        every change. Raises `TaskFailed` for an unsuccessful end if `raise_on_failure`,
        `TimeoutError` after `timeout_s`."""
        if self.finished is not None:
            return _already_finished(self.finished, on_progress, raise_on_failure)
        return self.client.wait(
            self.task_id,
            on_progress=on_progress,
            timeout_s=timeout_s,
            raise_on_failure=raise_on_failure,
            use_events=use_events,
        )

    def events(self) -> Iterator[TaskStatus]:
        """The task's status now, then at every change until it ends (see `Client.events`)."""
        return self.client.events(self.task_id)

    def result(self) -> dict[str, Any]:
        """`document`, `pages` and `chunks`; `Conflict` until the task has succeeded."""
        return self.client.result(self.task_id)

    def cancel(self) -> TaskStatus:
        return self.client.cancel(self.task_id)


class Client:
    """docqueue over HTTP. `base_url` and `api_key` default to DOCQUEUE_URL and DOCQUEUE_API_KEY.

    Every error answer raises a `DocqueueError` subclass (`NotFound`, `AuthError`, ...) whose
    `code` is the API's stable problem code.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = _common.base_url(base_url)
        self.timeout_s = timeout_s
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=_common.auth_headers(api_key),
            timeout=timeout_s,
            transport=transport,
        )
        self.dead_letters = DeadLetters(self._http)
        self.batches = Batches(self._http, timeout_s)

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
        idempotency_key: str | None = None,
        wait_s: int | None = None,
        **options: Unpack[_common.UploadOptions],
    ) -> Task:
        """Upload a file; returns as soon as docqueue has queued it, or with `wait_s`, once it
        ended if that takes at most wait_s seconds (`Prefer: wait`; then `task.finished` is its
        final status and `task.wait()` returns it at once). Options left as None take
        the server's defaults: `engine` (pypdf, pdfium), `ocr` (auto, always, never),
        `ocr_languages` ("eng+deu"), `text_normalization` (standard, none), `chunk_by`
        (characters, tokens: what chunk_size and chunk_overlap count).

        task = dq.submit("scan.pdf", ocr_languages="deu", callback_url="https://me.example/hook")
        """
        path = Path(path)
        with path.open("rb") as handle:
            response = self._http.post(
                "/v1/documents",
                files={"file": (path.name, handle)},
                data=_common.upload_fields(options),
                headers=_common.upload_headers(idempotency_key, wait_s),
                timeout=_common.upload_timeout_s(self.timeout_s, wait_s),
            )
        body = _common.answer(response)
        return Task(self, Accepted.from_json(body), _common.finished_of(body))

    def task(self, task_id: str) -> Task:
        """A handle on an existing task (no request is made)."""
        base = f"{self.base_url}/v1/tasks/{task_id}"
        return Task(self, Accepted(task_id, "", base, f"{base}/result", f"{base}/events", False))

    def get(self, task_id: str) -> TaskStatus:
        return TaskStatus.from_json(_common.answer(self._http.get(f"/v1/tasks/{task_id}")))

    def result(self, task_id: str) -> dict[str, Any]:
        """The result document: `document`, `pages` and `chunks`."""
        body: dict[str, Any] = _common.answer(self._http.get(f"/v1/tasks/{task_id}/result"))
        return body

    def cancel(self, task_id: str) -> TaskStatus:
        return TaskStatus.from_json(_common.answer(self._http.delete(f"/v1/tasks/{task_id}")))

    def delete_result(self, task_id: str) -> TaskStatus:
        """Delete a finished task's result and upload now (the status stays, `result_deleted_at`
        set); reading the result then raises `Gone`."""
        return TaskStatus.from_json(_common.answer(self._http.delete(f"/v1/tasks/{task_id}/result")))

    def list(
        self, state: str | None = None, limit: int = 20, cursor: str | None = None
    ) -> tuple[list[TaskStatus], str | None]:
        """One page of your tasks, newest first, and the cursor of the next page."""
        params: dict[str, Any] = {"limit": limit}
        if state:
            params["state"] = state
        if cursor:
            params["cursor"] = cursor
        body = _common.answer(self._http.get("/v1/tasks", params=params))
        return [TaskStatus.from_json(item) for item in body["items"]], body.get("next_cursor")

    def events(self, task_id: str, *, deadline: float | None = None) -> Iterator[TaskStatus]:
        """Live statuses from `GET /v1/tasks/{id}/events`: the current one first, then each change,
        ending after the terminal one. A dropped stream is resumed with `Last-Event-ID`, so no
        change is lost. Raises `EventsUnavailable` when streaming cannot work here.

            for status in dq.events(task_id):
                print(status.state, status.percent)
        """
        parser = _common.EventParser()
        path = f"/v1/tasks/{task_id}/events"
        return follow_events(self._http, path, parser, lambda s: s.is_terminal, deadline, self.timeout_s)

    def wait(
        self,
        task_id: str,
        *,
        on_progress: ProgressCallback | None = None,
        timeout_s: float | None = None,
        raise_on_failure: bool = False,
        use_events: bool = True,
        poll_interval_s: float = 0.5,
    ) -> TaskStatus:
        """Block until the task ends; `on_progress` gets every change. Follows the event stream,
        and polls `GET /v1/tasks/{id}` when the stream cannot be used."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        seen: list[tuple[Any, ...]] = []

        def notify(status: TaskStatus) -> None:
            if on_progress is not None and (not seen or seen[-1] != status.progress_key):
                on_progress(status)
            seen.append(status.progress_key)

        final = None
        if use_events:
            try:
                for status in self.events(task_id, deadline=deadline):
                    notify(status)
                    final = status if status.is_terminal else None
            except EventsUnavailable:
                final = None
        while final is None:
            status = self.get(task_id)
            notify(status)
            if status.is_terminal:
                final = status
            elif deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"task {task_id} still {status.state} after {timeout_s}s")
            else:
                time.sleep(poll_interval_s)
        if raise_on_failure and not final.succeeded:
            raise TaskFailed(final)
        return final


def _already_finished(
    final: TaskStatus, on_progress: ProgressCallback | None, raise_on_failure: bool
) -> TaskStatus:
    if on_progress is not None:
        on_progress(final)
    if raise_on_failure and not final.succeeded:
        raise TaskFailed(final)
    return final
