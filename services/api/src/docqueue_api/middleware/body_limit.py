"""Request body caps for every route, enforced while the body streams in.

A declared `Content-Length` over the cap is answered `413` before a byte of the body is read; a
chunked body is counted as it arrives and stopped as soon as it passes the cap. The upload route
gets the upload cap (plus room for the multipart framing); every other route a small one.
"""

from collections.abc import Awaitable, Callable, Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a streamed body passes its cap (the problem handlers answer 413)."""

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(413, f"the request body is larger than {limit_bytes} bytes")


class BodyLimitMiddleware:
    """Pure ASGI; `limits` maps (method, path) to a cap, `default_bytes` covers the rest."""

    def __init__(
        self,
        app: ASGIApp,
        default_bytes: int,
        limits: Mapping[tuple[str, str], int],
        on_too_large: Callable[[Request, HTTPException], Awaitable[Response]],
    ) -> None:
        self.app = app
        self.default_bytes = default_bytes
        self.limits = dict(limits)
        self.on_too_large = on_too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get((scope["method"], scope["path"].rstrip("/") or "/"), self.default_bytes)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            response = await self.on_too_large(Request(scope), BodyTooLarge(limit))
            await response(scope, receive, send)
            return
        received = 0

        async def receive_capped() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, receive_capped, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None
