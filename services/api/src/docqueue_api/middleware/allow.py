"""A 405 names every method its path supports in `Allow` (RFC 9110), not only the first route's.

Starlette answers 405 from the first route whose path matches, so `DELETE /v1/tasks/{id}` hid
behind `GET /v1/tasks/{id}`; this asks every route of the app instead.
"""

from starlette.datastructures import MutableHeaders
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(scope: Scope) -> list[str]:
    router = scope["app"].router
    allowed = []
    for method in METHODS:
        probe = {**scope, "method": method}
        if any(route.matches(probe)[0] == Match.FULL for route in router.routes):
            allowed.append(method)
    return allowed


class AllowHeaderMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405 and "app" in scope:
                allowed = allowed_methods(scope)
                if allowed:
                    MutableHeaders(scope=message)["Allow"] = ", ".join(allowed)
            await send(message)

        await self.app(scope, receive, send_with_allow)
