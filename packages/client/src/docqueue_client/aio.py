"""The asyncio Python client: the same API as `Client`, awaitable.

import asyncio
from docqueue_client import AsyncClient

async def main() -> None:
    async with AsyncClient() as dq:  # DOCQUEUE_URL / DOCQUEUE_API_KEY
        tasks = [await dq.submit(path) for path in ("a.pdf", "b.pdf")]
        finals = await asyncio.gather(*(task.wait() for task in tasks))
        print([final.state for final in finals])

asyncio.run(main())
"""

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any, Unpack

import httpx

from docqueue_client import _common
from docqueue_client.batches import MEMBERS_PAGE
from docqueue_client.errors import DocqueueError, EventsUnavailable, TaskFailed
from docqueue_client.models import Accepted, BatchStatus, TaskStatus

# A plain function or a coroutine function; it gets every change of the task's status.
AsyncProgressCallback = Callable[[TaskStatus], Any]


class AsyncTask:
    """A handle on one task for asyncio code (see `Task`)."""

    def __init__(self, client: "AsyncClient", accepted: Accepted, finished: TaskStatus | None = None) -> None:
        self.client = client
        self.accepted = accepted
        self.task_id = accepted.task_id
        # Set when the upload asked `Prefer: wait` and the task ended within it.
        self.finished = finished

    def __repr__(self) -> str:
        return f"AsyncTask({self.task_id!r})"

    async def status(self) -> TaskStatus:
        return await self.client.get(self.task_id)

    async def wait(
        self,
        on_progress: AsyncProgressCallback | None = None,
        *,
        timeout_s: float | None = None,
        raise_on_failure: bool = False,
        use_events: bool = True,
    ) -> TaskStatus:
        """Until the task ends; `on_progress` (sync or async) gets every change."""
        if self.finished is not None:
            if on_progress is not None:
                outcome = on_progress(self.finished)
                if inspect.isawaitable(outcome):
                    await outcome
            if raise_on_failure and not self.finished.succeeded:
                raise TaskFailed(self.finished)
            return self.finished
        return await self.client.wait(
            self.task_id,
            on_progress=on_progress,
            timeout_s=timeout_s,
            raise_on_failure=raise_on_failure,
            use_events=use_events,
        )

    def events(self) -> AsyncIterator[TaskStatus]:
        return self.client.events(self.task_id)

    async def result(self) -> dict[str, Any]:
        return await self.client.result(self.task_id)

    async def cancel(self) -> TaskStatus:
        return await self.client.cancel(self.task_id)


class AsyncClient:
    """docqueue over HTTP from asyncio code; errors are the same typed `DocqueueError`s."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = _common.base_url(base_url)
        self.timeout_s = timeout_s
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=_common.auth_headers(api_key),
            timeout=timeout_s,
            transport=transport,
        )
        self.batches = AsyncBatches(self._http, timeout_s)

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def submit(
        self,
        path: str | Path,
        *,
        idempotency_key: str | None = None,
        wait_s: int | None = None,
        **options: Unpack[_common.UploadOptions],
    ) -> AsyncTask:
        """Upload a file; returns as soon as docqueue has queued it, or (`wait_s`, `Prefer: wait`)
        once it ended if that takes at most wait_s seconds: then `task.finished` is set."""
        path = Path(path)
        # httpx sends multipart bodies from sync file objects only; read it off the event loop.
        content = await asyncio.to_thread(path.read_bytes)
        response = await self._http.post(
            "/v1/documents",
            files={"file": (path.name, content)},
            data=_common.upload_fields(options),
            headers=_common.upload_headers(idempotency_key, wait_s),
            timeout=_common.upload_timeout_s(self.timeout_s, wait_s),
        )
        body = _common.answer(response)
        return AsyncTask(self, Accepted.from_json(body), _common.finished_of(body))

    def task(self, task_id: str) -> AsyncTask:
        base = f"{self.base_url}/v1/tasks/{task_id}"
        return AsyncTask(self, Accepted(task_id, "", base, f"{base}/result", f"{base}/events", False))

    async def get(self, task_id: str) -> TaskStatus:
        return TaskStatus.from_json(_common.answer(await self._http.get(f"/v1/tasks/{task_id}")))

    async def result(self, task_id: str) -> dict[str, Any]:
        body: dict[str, Any] = _common.answer(await self._http.get(f"/v1/tasks/{task_id}/result"))
        return body

    async def cancel(self, task_id: str) -> TaskStatus:
        return TaskStatus.from_json(_common.answer(await self._http.delete(f"/v1/tasks/{task_id}")))

    async def delete_result(self, task_id: str) -> TaskStatus:
        """Delete a finished task's result and upload now (the status stays, `result_deleted_at`
        set); reading the result then raises `Gone`."""
        return TaskStatus.from_json(_common.answer(await self._http.delete(f"/v1/tasks/{task_id}/result")))

    async def list(
        self, state: str | None = None, limit: int = 20, cursor: str | None = None
    ) -> tuple[list[TaskStatus], str | None]:
        params: dict[str, Any] = {"limit": limit}
        if state:
            params["state"] = state
        if cursor:
            params["cursor"] = cursor
        body = _common.answer(await self._http.get("/v1/tasks", params=params))
        return [TaskStatus.from_json(item) for item in body["items"]], body.get("next_cursor")

    def events(self, task_id: str) -> AsyncIterator[TaskStatus]:
        """Live statuses until the task ends, resuming a dropped stream with `Last-Event-ID`
        (see `Client.events`). Bound it with `asyncio.timeout()`."""
        parser = _common.EventParser()
        return follow_events(
            self._http, f"/v1/tasks/{task_id}/events", parser, lambda s: s.is_terminal, self.timeout_s
        )

    async def wait(
        self,
        task_id: str,
        *,
        on_progress: AsyncProgressCallback | None = None,
        timeout_s: float | None = None,
        raise_on_failure: bool = False,
        use_events: bool = True,
        poll_interval_s: float = 0.5,
    ) -> TaskStatus:
        """Until the task ends: events first, polling when they cannot be used."""
        try:
            async with asyncio.timeout(timeout_s):
                final = await self._follow(task_id, on_progress, use_events, poll_interval_s)
        except TimeoutError as exc:
            raise TimeoutError(f"task {task_id} did not end within {timeout_s}s") from exc
        if raise_on_failure and not final.succeeded:
            raise TaskFailed(final)
        return final

    async def _follow(
        self,
        task_id: str,
        on_progress: AsyncProgressCallback | None,
        use_events: bool,
        poll_interval_s: float,
    ) -> TaskStatus:
        last: list[tuple[Any, ...]] = []

        async def notify(status: TaskStatus) -> None:
            if on_progress is not None and (not last or last[-1] != status.progress_key):
                outcome = on_progress(status)
                if inspect.isawaitable(outcome):
                    await outcome
            last[:] = [status.progress_key]

        if use_events:
            try:
                async for status in self.events(task_id):
                    await notify(status)
                    if status.is_terminal:
                        return status
            except EventsUnavailable:
                pass
        while True:
            status = await self.get(task_id)
            await notify(status)
            if status.is_terminal:
                return status
            await asyncio.sleep(poll_interval_s)


async def follow_events(
    http: httpx.AsyncClient,
    path: str,
    parser: _common.EventParser,
    ended: Callable[[Any], bool],
    timeout_s: float,
) -> AsyncIterator[Any]:
    """The events of one stream (a task's or a batch's) until one `ended` says is the last; a
    dropped stream is resumed from the parser's last event id."""
    reconnects = _common.Reconnects(path)
    while True:
        got_any = False
        try:
            async for item in _stream(http, path, parser, timeout_s):
                got_any = True
                yield item
                if ended(item):
                    return
        except (httpx.TransportError, httpx.DecodingError):
            pass
        except DocqueueError as exc:
            if _common.falls_back(exc):
                raise EventsUnavailable(str(exc)) from exc
            raise
        await asyncio.sleep(reconnects.pause_s(got_any))


async def _stream(
    http: httpx.AsyncClient, path: str, parser: _common.EventParser, timeout_s: float
) -> AsyncIterator[Any]:
    headers = _common.events_headers(parser.last_event_id)
    async with http.stream(
        "GET", path, headers=headers, timeout=_common.events_timeout(timeout_s)
    ) as response:
        if response.is_error:
            await response.aread()
            _common.answer(response)  # raises the typed error
        if not _common.is_event_stream(response):
            raise EventsUnavailable(f"the events route answered {response.headers.get('content-type')}")
        async for line in response.aiter_lines():
            item = parser.feed(line)
            if item is not None:
                yield item


class AsyncBatches:
    """`/v1/batches` for asyncio code (see `Batches`)."""

    def __init__(self, http: httpx.AsyncClient, timeout_s: float) -> None:
        self._http = http
        self.timeout_s = timeout_s

    async def submit(
        self,
        paths: Iterable[str | Path] = (),
        *,
        urls: Iterable[str] = (),
        idempotency_key: str | None = None,
        **options: Unpack[_common.UploadOptions],
    ) -> dict[str, Any]:
        """Files and URLs as one batch; the answer: `batch_id` and each member's task. The files
        are read into memory off the event loop (httpx sends async multipart bodies from bytes)."""
        files = [
            ("files", (Path(path).name, await asyncio.to_thread(Path(path).read_bytes))) for path in paths
        ]
        response = await self._http.post(
            "/v1/batches",
            files=files or None,
            headers=_common.upload_headers(idempotency_key),
            timeout=_common.batch_timeout_s(self.timeout_s, bool(files)),
            **_common.batch_payload(_common.upload_fields(options), list(urls), bool(files)),
        )
        accepted: dict[str, Any] = _common.answer(response)
        return accepted

    async def get(self, batch_id: str, *, limit: int = 100, cursor: str | None = None) -> BatchStatus:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        answer = await self._http.get(f"/v1/batches/{batch_id}", params=params)
        return BatchStatus.from_json(_common.answer(answer))

    async def members(self, batch_id: str) -> AsyncIterator[dict[str, Any]]:
        cursor = None
        while True:
            page = (await self.get(batch_id, limit=MEMBERS_PAGE, cursor=cursor)).raw["members"]
            for member in page["items"]:
                yield member
            cursor = page["next_cursor"]
            if cursor is None:
                return

    async def cancel(self, batch_id: str) -> BatchStatus:
        return BatchStatus.from_json(_common.answer(await self._http.delete(f"/v1/batches/{batch_id}")))

    def events(self, batch_id: str) -> AsyncIterator[BatchStatus]:
        parser = _common.EventParser(name="batch", decode=BatchStatus.from_json)
        path = f"/v1/batches/{batch_id}/events"
        return follow_events(self._http, path, parser, lambda b: not b.is_running, self.timeout_s)

    async def wait(
        self,
        batch_id: str,
        *,
        on_progress: Callable[[BatchStatus], Any] | None = None,
        timeout_s: float | None = None,
        poll_interval_s: float = 1.0,
    ) -> BatchStatus:
        """Until every member ended; events first, polling when they cannot be used."""
        async with asyncio.timeout(timeout_s):
            try:
                async for status in self.events(batch_id):
                    await _call(on_progress, status)
                    if not status.is_running:
                        return status
            except EventsUnavailable:
                pass
            while True:
                status = await self.get(batch_id, limit=1)
                await _call(on_progress, status)
                if not status.is_running:
                    return status
                await asyncio.sleep(poll_interval_s)


async def _call(callback: Callable[[Any], Any] | None, value: Any) -> None:
    if callback is not None:
        outcome = callback(value)
        if inspect.isawaitable(outcome):
            await outcome
