"""What the sync and async clients share: configuration, request pieces, answers, SSE parsing."""

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypedDict

import httpx

from docqueue_client.errors import (
    DocqueueError,
    EventsUnavailable,
    NotFound,
    Unavailable,
    error_from_response,
)
from docqueue_client.models import TaskStatus

DEFAULT_URL = "http://127.0.0.1:8000"
# Seconds without a byte on an event stream before it counts as dead; the server sends a
# heartbeat every 15 s by default.
EVENTS_READ_TIMEOUT_S = 60.0
# Reconnects in a row that brought no event before `wait()` falls back to polling.
MAX_EVENT_RECONNECTS = 3
EVENT_NAME = "task"


def base_url(given: str | None) -> str:
    return (given or os.environ.get("DOCQUEUE_URL") or DEFAULT_URL).rstrip("/")


def auth_headers(api_key: str | None) -> dict[str, str]:
    key = api_key or os.environ.get("DOCQUEUE_API_KEY", "")
    return {"Authorization": f"Bearer {key}"} if key else {}


class UploadOptions(TypedDict, total=False):
    """The upload's processing options; one left out (or None) takes the server's default."""

    chunk_size: int | None
    chunk_overlap: int | None
    callback_url: str | None
    engine: str | None  # pypdf, pdfium
    ocr: str | None  # auto, always, never
    ocr_languages: str | None  # "eng+deu"
    text_normalization: str | None  # standard, none
    chunk_by: str | None  # characters, tokens
    ttl_s: int | None  # seconds the task is kept once it ended (within the tenant's retention)


def upload_fields(options: UploadOptions) -> dict[str, str]:
    """The upload's form fields: the options given, the server's defaults for the rest."""
    return {name: str(value) for name, value in options.items() if value is not None}


def upload_headers(idempotency_key: str | None, wait_s: int | None = None) -> dict[str, str]:
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    if wait_s:
        # RFC 7240: answered 200 with the finished task if it ends within wait_s, else 202.
        headers["Prefer"] = f"wait={int(wait_s)}"
    return headers


def batch_payload(fields: dict[str, str], urls: list[str], with_files: bool) -> dict[str, Any]:
    """The httpx keyword of a batch's body besides its files: the options (and the URLs as a JSON
    list) as form fields beside them, or, with no file, one JSON body (numbers as numbers)."""
    if with_files:
        return {"data": {**fields, **({"urls": json.dumps(urls)} if urls else {})}}
    return {"json": {"urls": urls, **{name: int(v) if v.isdigit() else v for name, v in fields.items()}}}


def batch_timeout_s(timeout_s: float, with_files: bool) -> float:
    """Sending a folder of files may take a while; a list of URLs does not."""
    return max(timeout_s, 600.0) if with_files else timeout_s


def upload_timeout_s(timeout_s: float, wait_s: int | None) -> float:
    """A waiting upload's answer may take wait_s longer than any other."""
    return timeout_s + (wait_s or 0)


def finished_of(body: dict[str, Any]) -> TaskStatus | None:
    """The task's final status when an upload with `Prefer: wait` came back finished."""
    return TaskStatus.from_json(body) if "progress" in body else None


def answer(response: httpx.Response) -> Any:
    """The JSON body of a read response, or the typed error its problem document describes."""
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if response.is_error:
        raise error_from_response(response.status_code, body, response.headers.get("Retry-After"))
    return body


def events_headers(last_event_id: str | None) -> dict[str, str]:
    headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    return headers


def events_timeout(total_s: float) -> httpx.Timeout:
    return httpx.Timeout(total_s, read=EVENTS_READ_TIMEOUT_S)


class Reconnects:
    """When a dropped event stream is opened again: at once after one that brought events, else
    after 0.2 s, 0.4 s, ... (at most 2 s); past MAX_EVENT_RECONNECTS in a row that brought none, the
    stream counts as unusable (EventsUnavailable: callers poll instead)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.quiet = 0

    def pause_s(self, got_any: bool) -> float:
        self.quiet = 0 if got_any else self.quiet + 1
        if self.quiet > MAX_EVENT_RECONNECTS:
            raise EventsUnavailable(f"{self.path} keeps closing without events")
        return min(2.0, 0.2 * self.quiet)


def falls_back(error: DocqueueError) -> bool:
    """Errors on the events route that polling can work around; the rest are the caller's."""
    if isinstance(error, NotFound):
        # the route itself is missing (an older server)
        return error.code not in ("task_not_found", "batch_not_found")
    return isinstance(error, Unavailable) or error.status in (405, 406, 501)


def is_event_stream(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("content-type", "")
    return content_type.partition(";")[0].strip() == "text/event-stream"


@dataclass
class EventParser:
    """The text/event-stream format, line by line (the server's events are one data line each):
    events named `name` decoded by `decode` (a task's by default; a batch's: `batch`)."""

    last_event_id: str | None = None
    name: str = EVENT_NAME
    decode: Callable[[dict[str, Any]], Any] = TaskStatus.from_json
    _event: str = "message"
    _data: list[str] = field(default_factory=list)

    def feed(self, line: str) -> Any:
        """The decoded event when `line` ends one named `name`; None for anything else."""
        if line == "":
            data, event = self._data, self._event
            self._data, self._event = [], "message"
            if event == self.name and data:
                return self.decode(json.loads("\n".join(data)))
            return None
        if line.startswith(":"):
            return None  # a heartbeat comment
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self.last_event_id = value
        return None
