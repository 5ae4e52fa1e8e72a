"""`source_url` instead of a file: the worker fetches it (from a real HTTP server on 127.0.0.2, or
moto's S3) under the upload's limits and the webhook URL rules; every refusal has its code."""

import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import FETCHING_S3_BUCKET
from tests.support.documents import make_pdf
from tests.support.http import wait_for, wait_terminal
from tests.support.s3_server import s3_client
from tests.support.source_server import SourceServer
from tests.support.stacks import DatabaseStack


@pytest.fixture
def client(fetching: DatabaseStack) -> Iterator[httpx.Client]:
    with fetching.client() as client:
        yield client


def fetch(client: httpx.Client, url: str, **fields: Any) -> httpx.Response:
    data = {"source_url": url, **{name: str(value) for name, value in fields.items()}}
    # multipart/form-data without a file part, as `curl -F source_url=...` sends it
    return client.post("/v1/documents", files={name: (None, value) for name, value in data.items()})


def fetched(client: httpx.Client, url: str, **fields: Any) -> dict[str, Any]:
    answer = fetch(client, url, **fields)
    assert answer.status_code == 202, answer.text
    return wait_terminal(client, answer.json()["task_id"])


def path() -> str:
    return f"/{uuid.uuid4().hex}"


def test_a_source_url_is_fetched_read_and_shown_with_its_source(
    client: httpx.Client, source_server: SourceServer
) -> None:
    document = make_pdf(3, title="Fetched")
    url = source_server.put(f"{path()}/quarterly%20report.pdf", document)
    answer = fetch(client, url, chunk_size=400, chunk_overlap=0)
    assert answer.status_code == 202, answer.text
    queued = client.get(answer.json()["status_url"]).json()
    assert queued["source_url"] == url
    assert queued["filename"] == "quarterly report.pdf"
    status = wait_terminal(client, answer.json()["task_id"])
    assert status["state"] == "succeeded", status
    assert (status["media_type"], status["size_bytes"]) == ("application/pdf", len(document))
    result = client.get(status["result_url"]).json()
    assert result["document"]["source_url"] == url
    assert result["document"]["title"] == "Fetched"
    assert result["document"]["sha256"] == hashlib.sha256(document).hexdigest()
    assert result["document"]["page_count"] == 3
    assert result["chunks"]


def test_a_source_is_not_deduplicated_but_an_idempotency_key_is_honoured(
    client: httpx.Client, source_server: SourceServer
) -> None:
    url = source_server.put(f"{path()}.pdf", make_pdf(1))
    first, second = fetch(client, url), fetch(client, url)
    assert first.json()["task_id"] != second.json()["task_id"]
    key = {"Idempotency-Key": uuid.uuid4().hex}
    files = {"source_url": (None, url)}
    again = [client.post("/v1/documents", files=files, headers=key) for _ in range(2)]
    assert again[0].json()["task_id"] == again[1].json()["task_id"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9/x.pdf", "address_not_allowed"),
        ("https://169.254.169.254/latest/meta-data/", "address_not_allowed"),
        ("http://[::1]:8000/x.pdf", "address_not_allowed"),
        # A name that resolves to loopback is refused like the address.
        ("http://localhost:8000/x.pdf", "address_not_allowed"),
        ("http://10.0.0.8/x.pdf", "address_not_allowed"),
        ("file:///etc/passwd", "scheme_not_allowed"),
        ("gopher://127.0.0.2/x", "scheme_not_allowed"),
        ("https://user:secret@docs.example.com/x.pdf", "invalid_url"),
        ("https://no-such-host.invalid/x.pdf", "unresolvable_host"),
        (f"s3://not-{FETCHING_S3_BUCKET}/x.pdf", "bucket_not_allowed"),
        (f"s3://{FETCHING_S3_BUCKET}", "invalid_url"),
    ],
)
def test_unsafe_source_urls_are_refused_at_submission(client: httpx.Client, url: str, reason: str) -> None:
    answer = fetch(client, url)
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == "invalid_source_url"
    assert problem["errors"][0]["loc"] == ["body", "source_url"]
    assert problem["errors"][0]["type"] == reason


def test_a_file_and_a_source_url_together_or_neither_are_refused(
    client: httpx.Client, source_server: SourceServer
) -> None:
    url = source_server.put(f"{path()}.pdf", make_pdf(1))
    both = client.post(
        "/v1/documents", files={"file": ("a.pdf", make_pdf(1), "application/pdf"), "source_url": (None, url)}
    )
    assert (both.status_code, both.json()["code"]) == (422, "validation_error")
    neither = client.post("/v1/documents", files={"chunk_size": (None, "500")})
    assert (neither.status_code, neither.json()["code"]) == (422, "missing_file")


def test_a_redirect_is_checked_again_before_it_is_followed(
    client: httpx.Client, source_server: SourceServer
) -> None:
    target = source_server.put(f"{path()}.pdf", make_pdf(1))
    good = source_server.redirect(path(), target)
    assert fetched(client, good)["state"] == "succeeded"
    to_loopback = source_server.redirect(path(), target.replace("127.0.0.2", "127.0.0.1"))
    to_metadata = source_server.redirect(path(), "http://169.254.169.254/latest/meta-data/", 307)
    to_file = source_server.redirect(path(), "file:///etc/passwd", 301)
    for url in (to_loopback, to_metadata, to_file):
        status = fetched(client, url)
        assert (status["state"], status["error"]["code"]) == ("failed", "source_refused"), (url, status)
        assert status["error"]["retryable"] is False


def test_a_redirect_loop_is_cut_at_the_cap(client: httpx.Client, source_server: SourceServer) -> None:
    loop = path()
    url = source_server.redirect(loop, source_server.url(loop))
    status = fetched(client, url)
    assert (status["state"], status["error"]["code"]) == ("failed", "source_refused")
    assert "redirected more than 3 times" in status["error"]["message"]
    assert source_server.count(loop) == 4


@pytest.mark.parametrize(
    ("answer", "code"),
    [(404, "source_not_found"), (410, "source_not_found"), (403, "source_forbidden"),
     (401, "source_forbidden"), (400, "source_failed"), (405, "source_failed")],
)  # fmt: skip
def test_a_final_answer_fails_the_task_with_its_code(
    client: httpx.Client, source_server: SourceServer, answer: int, code: str
) -> None:
    url = source_server.answer(path(), answer)
    status = fetched(client, url)
    assert (status["state"], status["error"]["code"]) == ("failed", code)
    assert status["attempts"] == 1  # final: never fetched again


def test_a_busy_source_is_retried_until_it_answers(client: httpx.Client, source_server: SourceServer) -> None:
    where = path()
    source_server.put(where, make_pdf(2))
    url = source_server.answer(where, 503, 429, 200)
    status = fetched(client, url)
    assert status["state"] == "succeeded", status
    assert status["attempts"] == 3
    assert source_server.count(where) == 3


def test_a_source_that_stays_down_is_dead_lettered_after_the_retries(
    client: httpx.Client, source_server: SourceServer
) -> None:
    status = fetched(client, source_server.answer(path(), 502))
    assert (status["state"], status["error"]["code"]) == ("dead_lettered", "retries_exhausted")
    assert "502" in status["error"]["message"]


def test_bytes_that_are_no_document_fail_like_an_upload_would(
    client: httpx.Client, source_server: SourceServer
) -> None:
    unknown = fetched(client, source_server.put(path(), b"\x00\x01\x02 binary \xff" * 100))
    assert (unknown["state"], unknown["error"]["code"]) == ("failed", "unsupported_type")
    empty = fetched(client, source_server.put(path(), b""))
    assert (empty["state"], empty["error"]["code"]) == ("failed", "empty_document")


def test_hostile_sources_are_bounded(client: httpx.Client, source_server: SourceServer) -> None:
    """A body that never ends stops at the size cap, a 10 GB declared length before a byte is read,
    a compression bomb (gzip though identity was asked for) at the size cap while it inflates, a
    body that drips forever at the fetch's time cap; each with its code."""
    endless = fetched(client, source_server.url("/endless"))
    assert (endless["state"], endless["error"]["code"]) == ("failed", "source_too_large")
    assert "larger than 4194304 bytes" in endless["error"]["message"]
    huge = fetched(client, source_server.url("/ten-gigabytes"))
    assert (huge["state"], huge["error"]["code"]) == ("failed", "source_too_large")
    assert "10737418240 bytes" in huge["error"]["message"]
    bomb = fetched(client, source_server.url("/gzip-bomb"))  # 100 KB that inflates to 100 MB
    assert (bomb["state"], bomb["error"]["code"]) == ("failed", "source_too_large")
    drip = fetched(client, source_server.url("/drip"))
    assert (drip["state"], drip["error"]["code"]) == ("failed", "source_timeout")
    assert "still sending after 3 s" in drip["error"]["message"]


def test_a_fetch_in_progress_stops_when_the_task_is_cancelled(
    client: httpx.Client, source_server: SourceServer
) -> None:
    answer = fetch(client, source_server.url("/drip"))
    task_id = answer.json()["task_id"]
    wait_for(client, task_id, lambda task: task["stage"] == "fetching")
    cancelled = client.delete(f"/v1/tasks/{task_id}")
    assert cancelled.json()["state"] == "cancelled"
    assert wait_terminal(client, task_id)["state"] == "cancelled"


def test_an_s3_source_is_read_from_an_allowed_bucket(client: httpx.Client, s3_endpoint: str) -> None:
    s3 = s3_client(s3_endpoint)
    key = f"inbox/{uuid.uuid4().hex}/contract.pdf"
    s3.put_object(Bucket=FETCHING_S3_BUCKET, Key=key, Body=make_pdf(2, title="From S3"))
    status = fetched(client, f"s3://{FETCHING_S3_BUCKET}/{key}")
    assert status["state"] == "succeeded", status
    assert status["filename"] == "contract.pdf"
    assert client.get(status["result_url"]).json()["document"]["title"] == "From S3"
    missing = fetched(client, f"s3://{FETCHING_S3_BUCKET}/inbox/none.pdf")
    assert (missing["state"], missing["error"]["code"]) == ("failed", "source_not_found")
