"""The upload page at `/` in headless Chromium against the running stack: upload a PDF, watch
its bar reach 100% live, open the result; failures read clearly; nothing loads from elsewhere."""

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, Request, expect

from tests.conftest import KeyMaker
from tests.support.documents import corrupt_pdf, make_pdf

FileMaker = Callable[[str, bytes], Path]
PAGES = 120

# Records every value the first file's bar shows, so the test sees live progress, not just the end.
WATCH_BAR = """
window.barValues = [];
new MutationObserver(() => {
  const bar = document.querySelector("#files li:last-child .bar");
  if (bar) window.barValues.push(Number(bar.getAttribute("aria-valuenow")));
}).observe(document.querySelector("#files"), {subtree: true, attributes: true, childList: true});
"""


def test_upload_a_pdf_and_watch_it_to_the_result(
    page: Page, api_url: str, make_key: KeyMaker, tmp_file: FileMaker, artifacts: Path
) -> None:
    requests: list[Request] = []

    def record(request: Request) -> None:
        requests.append(request)

    page.on("request", record)
    response = page.goto(f"{api_url}/")
    assert response is not None
    assert response.status == 200
    assert "connect-src 'self'" in response.headers["content-security-policy"]
    page.fill("#api-key", make_key())
    page.evaluate(WATCH_BAR)

    page.set_input_files(
        "#file-input", str(tmp_file("report.pdf", make_pdf(PAGES, title="Quarterly report")))
    )
    row = page.locator("#files li").first
    expect(row.locator(".name")).to_have_text("report.pdf")
    expect(row.locator(".bar")).to_have_attribute("aria-valuenow", "100", timeout=60_000)
    expect(row.locator(".percent")).to_have_text("100%")
    expect(row.locator(".state")).to_have_text(f"succeeded · {PAGES} pages")
    values = page.evaluate("window.barValues")
    assert values == sorted(values), values
    assert any(0 < value < 100 for value in values), f"no live progress was shown: {values}"
    page.screenshot(path=str(artifacts / "progress.png"), full_page=True)

    row.locator("button.open").click()
    result = page.locator("#result")
    expect(result).to_be_visible()
    expect(page.locator("#result-title")).to_have_text("Quarterly report")
    expect(page.locator("#result-pages > li")).to_have_count(PAGES)
    expect(page.locator("#result-pages > li").first).to_contain_text("Page 1 begins.")
    expect(page.locator("#result-meta")).to_contain_text(f"{PAGES} pages")
    expect(page.locator("#result-chunks")).to_be_hidden()
    page.screenshot(path=str(artifacts / "result-pages.png"), full_page=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "upload-page.png"))  # the README's picture
    page.click("#tab-chunks")
    expect(page.locator("#result-pages")).to_be_hidden()
    chunks = page.locator("#result-chunks > li")
    expect(chunks.first).to_contain_text("Chunk 0 · pages 1–1")
    assert chunks.count() > PAGES  # several chunks per page at the default size
    page.screenshot(path=str(artifacts / "result-chunks.png"), full_page=False)

    # The key survives a reload (localStorage), and nothing was fetched from another origin.
    page.reload()
    assert page.input_value("#api-key").startswith("dq_")
    assert requests
    assert all(request.url.startswith(api_url) for request in requests), [r.url for r in requests]


def test_failures_are_explained(
    page: Page, api_url: str, make_key: KeyMaker, tmp_file: FileMaker, artifacts: Path
) -> None:
    page.goto(f"{api_url}/")
    page.fill("#api-key", make_key())
    page.set_input_files("#file-input", str(tmp_file("broken.pdf", corrupt_pdf())))
    broken = page.locator("#files li", has_text="broken.pdf")
    expect(broken).to_have_attribute("data-state", "failed", timeout=60_000)
    expect(broken.locator(".error")).to_contain_text("This document cannot be processed")
    expect(broken.locator(".error")).to_contain_text("(corrupt_document)")
    expect(broken.locator("button.open")).to_be_hidden()

    page.set_input_files("#file-input", str(tmp_file("picture.pdf", bytes(range(256)) * 8)))
    refused = page.locator("#files li", has_text="picture.pdf")
    expect(refused.locator(".error")).to_contain_text("Upload refused")
    expect(refused.locator(".error")).to_contain_text("(unsupported_media_type)")

    page.fill("#api-key", "dq_not_a_key")
    page.set_input_files("#file-input", str(tmp_file("notes.md", b"# Notes\n")))
    unauthorized = page.locator("#files li", has_text="notes.md")
    expect(unauthorized.locator(".error")).to_contain_text("(unauthorized)")
    page.screenshot(path=str(artifacts / "failures.png"), full_page=True)
