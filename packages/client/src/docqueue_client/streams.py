"""Following a Server-Sent Events stream of the API (a task's or a batch's), resuming it when it drops."""

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from docqueue_client import _common
from docqueue_client.errors import DocqueueError, EventsUnavailable


def follow_events(
    http: httpx.Client,
    path: str,
    parser: _common.EventParser,
    ended: Callable[[Any], bool],
    deadline: float | None,
    timeout_s: float,
) -> Iterator[Any]:
    """The events of one stream (a task's or a batch's) until one `ended` says is the last; a
    dropped stream is resumed from the parser's last event id."""
    reconnects = _common.Reconnects(path)
    while True:
        got_any = False
        try:
            for item in _stream(http, path, parser, deadline, timeout_s):
                got_any = True
                yield item
                if ended(item):
                    return
        except (httpx.TransportError, httpx.DecodingError) as exc:
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"{path} did not end in time") from exc
        except DocqueueError as exc:
            if _common.falls_back(exc):
                raise EventsUnavailable(str(exc)) from exc
            raise
        time.sleep(reconnects.pause_s(got_any))


def _stream(
    http: httpx.Client, path: str, parser: _common.EventParser, deadline: float | None, timeout_s: float
) -> Iterator[Any]:
    headers = _common.events_headers(parser.last_event_id)
    with http.stream("GET", path, headers=headers, timeout=_common.events_timeout(timeout_s)) as response:
        if response.is_error:
            response.read()
            _common.answer(response)  # raises the typed error
        if not _common.is_event_stream(response):
            raise EventsUnavailable(f"the events route answered {response.headers.get('content-type')}")
        for line in response.iter_lines():
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"{path} did not end in time")
            item = parser.feed(line)
            if item is not None:
                yield item
