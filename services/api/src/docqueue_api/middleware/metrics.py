"""HTTP metrics as pure ASGI middleware (streaming-safe: nothing is buffered or awaited twice).

Outermost of all, so it sees every answer, the request-id middleware's 500s included. A request
is labelled with its route template (`/v1/tasks/{task_id}`, never the path itself) once routing has
matched it, `unmatched` otherwise. Latency is the time to the response headers: an event stream
counts its set-up, not the minutes it stays open. Upload sizes are the body bytes the upload route
received, counted as they stream.
"""

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from docqueue.metrics import ApiMetrics, method_label, status_class

UNMATCHED = "unmatched"
UPLOAD_ROUTE = ("POST", "/v1/documents")
# Scrapes and probes are counted like any request but not timed: they would crowd the histogram.
UNTIMED_ROUTES = frozenset({"/metrics", "/healthz", "/readyz"})


def route_label(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(path) if path else UNMATCHED


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method = method_label(scope["method"])
        status = 500
        responded = False
        body_bytes = 0

        async def counting_receive() -> Message:
            nonlocal body_bytes
            message = await receive()
            if message["type"] == "http.request":
                body_bytes += len(message.get("body", b""))
            return message

        async def observing_send(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start" and not responded:
                responded = True
                status = int(message["status"])
                route = route_label(scope)
                if route not in UNTIMED_ROUTES:
                    self.metrics.http_duration.labels(method, route).observe(time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, counting_receive, observing_send)
        finally:
            route = route_label(scope)
            self.metrics.http_requests.labels(method, route, str(status)).inc()
            if (method, route) == UPLOAD_ROUTE:
                self.metrics.upload_size.labels(status_class(status)).observe(body_bytes)
