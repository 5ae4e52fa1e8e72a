"""Batches: many files and URLs in one request, followed as one (`Client.batches`).

with Client() as dq:
    batch = dq.batches.submit(["a.pdf", "b.docx"], urls=["https://example.com/c.pdf"])
    final = batch.wait(on_progress=lambda b: print(f"{b.done}/{b.total}"))
    for member in batch.members():
        print(member["filename"], member["state"])
"""

import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Unpack, cast

import httpx

from docqueue_client import _common
from docqueue_client.errors import EventsUnavailable
from docqueue_client.models import BatchStatus
from docqueue_client.streams import follow_events

BatchCallback = Callable[[BatchStatus], object]
# Members read per request when all are listed.
MEMBERS_PAGE = 500


class _LazyFile:
    """A file opened when its bytes are first read and closed at its end, so a batch of a thousand
    files never holds a thousand open files (the body is sent chunked: no length is known)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: Any = None
        self._done = False

    def read(self, size: int = -1) -> bytes:
        if self._done:
            return b""
        if self._handle is None:
            self._handle = self.path.open("rb")
        data: bytes = self._handle.read(size)
        if not data or size < 0:
            self.close()
        return data

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self._done = True


class Batch:
    """A handle on one batch: follow it, list its members, cancel it."""

    def __init__(self, batches: "Batches", batch_id: str, accepted: dict[str, Any] | None = None) -> None:
        self.batches = batches
        self.batch_id = batch_id
        # The answer to its submission: `members` with each member's task id, in order.
        self.accepted = accepted or {}

    def __repr__(self) -> str:
        return f"Batch({self.batch_id!r})"

    @property
    def task_ids(self) -> list[str]:
        return [member["task_id"] for member in self.accepted.get("members", [])]

    def status(self) -> BatchStatus:
        return self.batches.get(self.batch_id)

    def wait(
        self, on_progress: BatchCallback | None = None, *, timeout_s: float | None = None
    ) -> BatchStatus:
        return self.batches.wait(self.batch_id, on_progress=on_progress, timeout_s=timeout_s)

    def members(self) -> Iterator[dict[str, Any]]:
        return self.batches.members(self.batch_id)

    def cancel(self) -> BatchStatus:
        return self.batches.cancel(self.batch_id)


class Batches:
    """`/v1/batches`: submit, read, follow, list and cancel batches."""

    def __init__(self, http: httpx.Client, timeout_s: float) -> None:
        self._http = http
        self.timeout_s = timeout_s

    def submit(
        self,
        paths: Iterable[str | Path] = (),
        *,
        urls: Iterable[str] = (),
        idempotency_key: str | None = None,
        **options: Unpack[_common.UploadOptions],
    ) -> Batch:
        """Files and URLs (https://..., s3://bucket/key) as one batch with the same options; each
        is an ordinary task. `callback_url` gets one signed POST when the batch ends."""
        lazy = [_LazyFile(Path(path)) for path in paths]
        files = [("files", (file.path.name, cast("IO[bytes]", file))) for file in lazy]
        try:
            response = self._http.post(
                "/v1/batches",
                files=files or None,
                headers=_common.upload_headers(idempotency_key),
                timeout=_common.batch_timeout_s(self.timeout_s, bool(files)),
                **_common.batch_payload(_common.upload_fields(options), list(urls), bool(files)),
            )
        finally:
            for file in lazy:
                file.close()
        accepted: dict[str, Any] = _common.answer(response)
        return Batch(self, accepted["batch_id"], accepted)

    def batch(self, batch_id: str) -> Batch:
        """A handle on an existing batch (no request is made)."""
        return Batch(self, batch_id)

    def get(self, batch_id: str, *, limit: int = 100, cursor: str | None = None) -> BatchStatus:
        """The batch now, with one page of its members (`raw["members"]`)."""
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        return BatchStatus.from_json(_common.answer(self._http.get(f"/v1/batches/{batch_id}", params=params)))

    def members(self, batch_id: str) -> Iterator[dict[str, Any]]:
        """Every member, in submission order: index, task_id, state, progress, filename, error."""
        cursor = None
        while True:
            page = self.get(batch_id, limit=MEMBERS_PAGE, cursor=cursor).raw["members"]
            yield from page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return

    def list(self, limit: int = 20, cursor: str | None = None) -> tuple[list[BatchStatus], str | None]:
        """One page of your batches, newest first, and the cursor of the next page."""
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        body = _common.answer(self._http.get("/v1/batches", params=params))
        return [BatchStatus.from_json(item) for item in body["items"]], body.get("next_cursor")

    def cancel(self, batch_id: str) -> BatchStatus:
        """Cancel every member that has not ended."""
        return BatchStatus.from_json(_common.answer(self._http.delete(f"/v1/batches/{batch_id}")))

    def events(self, batch_id: str, *, deadline: float | None = None) -> Iterator[BatchStatus]:
        """The batch now, then after every member change (`status.member`), until it ends."""
        parser = _common.EventParser(name="batch", decode=BatchStatus.from_json)
        path = f"/v1/batches/{batch_id}/events"
        return follow_events(self._http, path, parser, lambda b: not b.is_running, deadline, self.timeout_s)

    def wait(
        self,
        batch_id: str,
        *,
        on_progress: BatchCallback | None = None,
        timeout_s: float | None = None,
        poll_interval_s: float = 1.0,
    ) -> BatchStatus:
        """Until every member ended; `on_progress` gets each change. Follows the batch's event
        stream, polling when it cannot be used."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        last: list[tuple[Any, ...]] = []

        def notify(status: BatchStatus) -> None:
            if on_progress is not None and (not last or last[-1] != status.progress_key):
                on_progress(status)
            last.append(status.progress_key)

        try:
            for status in self.events(batch_id, deadline=deadline):
                notify(status)
                if not status.is_running:
                    return status
        except EventsUnavailable:
            pass
        while True:
            status = self.get(batch_id, limit=1)
            notify(status)
            if not status.is_running:
                return status
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"batch {batch_id} still running after {timeout_s}s")
            time.sleep(poll_interval_s)
