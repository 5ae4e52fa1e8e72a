"""The HTTP metrics middleware on a small Starlette app (a pure unit test of the ASGI layer):
route templates as labels, status, latency to the headers, upload bytes."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from prometheus_client import CollectorRegistry

from docqueue.metrics import ApiMetrics, api_metrics
from docqueue_api.middleware.metrics import HttpMetricsMiddleware


@pytest.fixture
def metrics() -> ApiMetrics:
    return api_metrics(CollectorRegistry())


@pytest.fixture
def client(metrics: ApiMetrics) -> "Client":
    app = FastAPI()

    @app.get("/v1/tasks/{task_id}")
    async def task(task_id: str) -> dict[str, str]:
        return {"task_id": task_id}

    @app.post("/v1/documents", status_code=202)
    async def upload(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for n in range(3):
                yield f"chunk {n}\n".encode()

        return StreamingResponse(chunks(), media_type="text/plain")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    app.add_middleware(HttpMetricsMiddleware, metrics=metrics)
    return Client(app)


class Client:
    """Requests straight into the ASGI app (no server, no network)."""

    def __init__(self, app: FastAPI) -> None:
        self.transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            async with httpx.AsyncClient(transport=self.transport, base_url="http://test") as client:
                response = await client.request(method, url, **kwargs)
                await response.aread()
                return response

        return asyncio.run(send())

    def get(self, url: str) -> httpx.Response:
        return self.request("GET", url)


def value(metrics: ApiMetrics, name: str, **labels: str) -> float:
    registry_value = next(
        sample.value
        for metric in (metrics.http_requests, metrics.http_duration, metrics.upload_size)
        for family in metric.collect()
        for sample in family.samples
        if sample.name == name and sample.labels == labels
    )
    return float(registry_value)


def test_requests_are_labelled_by_route_template_never_by_path(client: Client, metrics: ApiMetrics) -> None:
    for task_id in ("a" * 32, "b" * 32):
        assert client.get(f"/v1/tasks/{task_id}").status_code == 200
    assert client.get("/no/such/path").status_code == 404
    total = "docqueue_http_requests_total"
    assert value(metrics, total, method="GET", route="/v1/tasks/{task_id}", status="200") == 2
    assert value(metrics, total, method="GET", route="unmatched", status="404") == 1
    labels = {
        tuple(sample.labels.values())
        for family in metrics.http_requests.collect()
        for sample in family.samples
    }
    assert not [label for label in labels if "a" * 32 in label or "/no/such/path" in label]


def test_an_unexpected_error_counts_as_500(client: Client, metrics: ApiMetrics) -> None:
    assert client.get("/boom").status_code == 500
    assert value(metrics, "docqueue_http_requests_total", method="GET", route="/boom", status="500") == 1


def test_streams_pass_through_and_are_timed_to_their_headers(client: Client, metrics: ApiMetrics) -> None:
    assert client.get("/stream").text.splitlines() == ["chunk 0", "chunk 1", "chunk 2"]
    count = "docqueue_http_request_duration_seconds_count"
    assert value(metrics, count, method="GET", route="/stream") == 1


def test_upload_bytes_are_counted(client: Client, metrics: ApiMetrics) -> None:
    body = b"x" * 10_000
    response = client.request("POST", "/v1/documents", content=body)
    assert response.json() == {"bytes": 10_000}
    assert value(metrics, "docqueue_upload_size_bytes_sum", status_class="2xx") == 10_000
    assert value(metrics, "docqueue_upload_size_bytes_count", status_class="2xx") == 1
