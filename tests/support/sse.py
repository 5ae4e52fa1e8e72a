"""Reading a Server-Sent Events stream in tests, comments included (SSE libraries drop them)."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Frame:
    event: str | None = None
    id: str | None = None
    data: dict[str, Any] | None = None
    comment: str | None = None
    retry: int | None = None


def frames(response: httpx.Response) -> Iterator[Frame]:
    """The stream as sent, comments included (SSE libraries drop them)."""
    fields: dict[str, list[str]] = {}
    for line in response.iter_lines():
        if line == "":
            if fields:
                data = "\n".join(fields["data"]) if "data" in fields else None
                yield Frame(
                    event=fields.get("event", [None])[-1],
                    id=fields.get("id", [None])[-1],
                    data=json.loads(data) if data is not None else None,
                    comment=fields.get("", [None])[-1],
                    retry=int(fields["retry"][-1]) if "retry" in fields else None,
                )
            fields = {}
            continue
        name, _, value = line.partition(":")
        fields.setdefault(name, []).append(value[1:] if value.startswith(" ") else value)


def events(response: httpx.Response) -> Iterator[Frame]:
    return (frame for frame in frames(response) if frame.data is not None)
