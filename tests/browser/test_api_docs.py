"""/docs (Swagger UI) and /redoc render in headless Chromium from files the API serves itself:
no request leaves its origin, and its Content-Security-Policy refuses nothing they need (only
ReDoc's vendor logo, which it would fetch from a CDN)."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, expect


@pytest.mark.parametrize(("path", "ready"), [("/docs", ".opblock"), ("/redoc", "[data-section-id]")])
def test_the_api_docs_render_offline(page: Page, api_url: str, path: str, ready: str) -> None:
    requests: list[Request] = []
    refused: list[str] = []

    def record(request: Request) -> None:
        requests.append(request)

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            refused.append(message.text)

    # Requests that got an answer: one the policy refused never reached the network.
    page.on("requestfinished", record)
    page.on("console", console)
    response = page.goto(f"{api_url}{path}")
    assert response is not None
    assert response.status == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "http" not in policy, "no other origin is allowed"
    expect(page.locator(ready).first).to_be_visible(timeout=30_000)
    assert page.locator(ready).count() >= 5, "the operations of the OpenAPI document are shown"
    origin = urlsplit(api_url).netloc
    elsewhere = [
        r.url
        for r in requests
        if urlsplit(r.url).scheme in ("http", "https") and urlsplit(r.url).netloc != origin
    ]
    assert not elsewhere, elsewhere
    # ReDoc's footer shows its vendor's logo from a CDN; the policy refuses exactly that.
    assert [text for text in refused if "cdn.redoc.ly/redoc/logo-mini.svg" not in text] == []
