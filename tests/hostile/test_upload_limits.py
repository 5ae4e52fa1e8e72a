"""Upload limits are enforced while the body streams: refused early, nothing left behind."""

import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from docqueue.jobs import keys
from tests.hostile.conftest import UPLOAD_CAP_BYTES, HostileStack
from tests.hostile.wire import BOUNDARY, content_type, multipart, part, send_raw
from tests.support.documents import make_pdf
from tests.support.http import wait_terminal

MIB = 1024 * 1024
CHUNK = b"\x00" * 65536
GIF = b"GIF89a" + bytes(2048)  # images are documents, but not GIFs


def blob_files(hostile: HostileStack) -> set[Path]:
    """Uploads and partial writes (results of earlier accepted uploads may still appear)."""
    return {
        path
        for path in hostile.blob_dir.rglob("*")
        if path.is_file() and (path.parent.name == "uploads" or path.name.startswith(".part-"))
    }


def tenant_traces(hostile: HostileStack, tenant: str) -> list[bytes]:
    """Every Redis key that mentions the tenant, and every job hash that belongs to it."""
    found = [name for name in hostile.redis.scan_iter(f"*{tenant}*") if b"ratelimit" not in name]
    for name in hostile.redis.scan_iter(f"{keys.JOB_PREFIX}*"):
        if hostile.redis.type(name) == b"hash" and hostile.redis.hget(name, "tenant") == tenant.encode():
            found.append(name)
    return found


@pytest.fixture
def tenant_key(hostile: HostileStack) -> tuple[str, str]:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    return tenant, hostile.key(tenant)


def upload_headers(key: str, boundary: str = BOUNDARY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Content-Type": content_type(boundary)}


def file_stream(total_bytes: int) -> Iterator[bytes]:
    """The opening of a multipart upload, then `total_bytes` of file data in 64 KiB pieces."""
    yield b"--" + BOUNDARY.encode() + b"\r\n" + part("file", b"%PDF-1.7\n", "big.pdf")
    for _ in range(total_bytes // len(CHUNK)):
        yield CHUNK


def assert_problem(answer_body: bytes, status: int, code: str) -> dict[str, object]:
    problem: dict[str, object] = json.loads(answer_body)
    assert problem["status"] == status
    assert problem["code"] == code, problem
    return problem


def assert_nothing_left(hostile: HostileStack, tenant: str, before: set[Path]) -> None:
    after = blob_files(hostile)
    assert after <= before, f"new blobs: {after - before}"
    assert not [p for p in after if p.name.startswith(".part-")]
    assert tenant_traces(hostile, tenant) == []


def test_chunked_body_over_the_cap_is_refused_while_streaming(
    hostile: HostileStack, tenant_key: tuple[str, str]
) -> None:
    tenant, key = tenant_key
    before = blob_files(hostile)
    willing_bytes = 64 * MIB
    answer = send_raw(
        hostile.api_url, "/v1/documents", upload_headers(key), file_stream(willing_bytes), chunked=True
    )
    assert answer.status == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert_problem(answer.body, 413, "payload_too_large")
    # Refused once the cap was passed, not after the whole body (socket buffers hold a few MiB).
    assert answer.closed_early
    assert answer.body_bytes_sent < willing_bytes // 4, answer.body_bytes_sent
    assert_nothing_left(hostile, tenant, before)


def test_declared_length_over_the_cap_is_refused_before_the_body(
    hostile: HostileStack, tenant_key: tuple[str, str]
) -> None:
    tenant, key = tenant_key
    before = blob_files(hostile)
    headers = {**upload_headers(key), "Content-Length": str(64 * MIB)}

    def body_after_a_pause() -> Iterator[bytes]:
        time.sleep(1.0)  # the answer must already be there: nothing of the body was needed
        yield from file_stream(64 * MIB)

    answer = send_raw(hostile.api_url, "/v1/documents", headers, body_after_a_pause(), chunked=False)
    assert answer.status == 413
    assert_problem(answer.body, 413, "payload_too_large")
    assert answer.body_bytes_sent == 0
    assert_nothing_left(hostile, tenant, before)


def test_content_length_smaller_than_the_body_reads_only_what_was_declared(
    hostile: HostileStack, tenant_key: tuple[str, str]
) -> None:
    tenant, key = tenant_key
    before = blob_files(hostile)
    headers = {**upload_headers(key), "Content-Length": "2000"}
    answer = send_raw(hostile.api_url, "/v1/documents", headers, file_stream(8 * MIB), chunked=False)
    # The server takes the declared 2000 bytes: a multipart body cut short, never a stored file.
    assert answer.status == 400
    assert_problem(answer.body, 400, "invalid_multipart")
    assert_nothing_left(hostile, tenant, before)


def test_honest_length_just_over_the_file_cap(hostile: HostileStack, tenant_key: tuple[str, str]) -> None:
    tenant, key = tenant_key
    before = blob_files(hostile)
    body = multipart([part("file", b"%PDF-1.7\n" + bytes(UPLOAD_CAP_BYTES), "big.pdf")])
    response = httpx.post(
        f"{hostile.api_url}/v1/documents", content=body, headers=upload_headers(key), timeout=30
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert_nothing_left(hostile, tenant, before)


PATHOLOGICAL: dict[str, tuple[bytes, str, int, str]] = {
    "too many parts": (
        multipart([part(f"f{i}", b"x") for i in range(50)] + [part("file", b"hello", "a.txt")]),
        BOUNDARY,
        400,
        "too_many_parts",
    ),
    "second file": (
        multipart([part("file", b"hello", "a.txt"), part("file", b"again", "b.txt")]),
        BOUNDARY,
        400,
        "too_many_files",
    ),
    "file in an option field": (
        multipart([part("file", b"hello", "a.txt"), part("chunk_size", b"100", "c.txt")]),
        BOUNDARY,
        400,
        "too_many_files",
    ),
    "oversized field": (
        multipart([part("chunk_size", b"1" * 100_000), part("file", b"hello", "a.txt")]),
        BOUNDARY,
        400,
        "field_too_large",
    ),
    "a thousand part headers": (
        multipart([part("file", b"hello", "a.txt", extra=[b"X-H%d: v" % i for i in range(1000)])]),
        BOUNDARY,
        400,
        "invalid_multipart",
    ),
    "a 1 MiB part header": (
        multipart([part("file", b"hello", "a.txt", extra=[b"X-Long: " + b"v" * MIB])]),
        BOUNDARY,
        400,
        "invalid_multipart",
    ),
    "CR LF injected in a filename": (
        multipart([part("file", b"hello", b"a\r\nX-Evil: 1\r\n\x1b.pdf")]),
        BOUNDARY,
        400,
        "invalid_multipart",
    ),
    "part without a name": (
        b"--"
        + BOUNDARY.encode()
        + b"\r\nContent-Disposition: form-data\r\n\r\nx\r\n--"
        + BOUNDARY.encode()
        + b"--\r\n",
        BOUNDARY,
        400,
        "invalid_multipart",
    ),
    "boundary over 70 characters": (
        multipart([part("file", b"hi", "a.txt")], "b" * 200),
        "b" * 200,
        400,
        "invalid_multipart",
    ),
    "boundary outside RFC 2046": (
        multipart([part("file", b"hi", "a.txt")], "a<b>{c}"),
        "a<b>{c}",
        400,
        "invalid_multipart",
    ),
    "body without its boundary": (b"garbage " * 100_000, BOUNDARY, 400, "invalid_multipart"),
    # A preamble is legal (RFC 2046); python-multipart skips it quickly (the 0.0.18 fix).
    "a megabyte of CR LF before the boundary": (
        b"\r\n" * (MIB // 2) + multipart([part("file", b"hello", "a.txt")]),
        BOUNDARY,
        202,
        "",
    ),
    "boundary look-alikes inside the file": (
        multipart([part("file", (b"\r\n--" + BOUNDARY.encode()[:-1] + b"X") * 20_000, "a.txt")]),
        BOUNDARY,
        202,
        "",
    ),
    "body truncated inside the file": (
        b"--" + BOUNDARY.encode() + b"\r\n" + part("file", b"hello world", "a.txt"),
        BOUNDARY,
        400,
        "invalid_multipart",
    ),
}


@pytest.mark.parametrize("case", list(PATHOLOGICAL))
def test_pathological_multipart_is_refused_quickly(
    hostile: HostileStack, tenant_key: tuple[str, str], case: str
) -> None:
    tenant, key = tenant_key
    body, boundary, status, code = PATHOLOGICAL[case]
    before = blob_files(hostile)
    started = time.monotonic()
    response = httpx.post(
        f"{hostile.api_url}/v1/documents", content=body, headers=upload_headers(key, boundary), timeout=30
    )
    elapsed_s = time.monotonic() - started
    assert response.status_code == status, response.text
    assert elapsed_s < 3.0, elapsed_s
    if code:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code
        assert_nothing_left(hostile, tenant, before)


def test_healthz_stays_responsive_under_hostile_uploads(hostile: HostileStack) -> None:
    key = hostile.key()
    hostile_cases = [name for name, spec in PATHOLOGICAL.items() if spec[2] != 202]
    stop = threading.Event()
    latencies_s: list[float] = []

    def probe() -> None:
        with httpx.Client(base_url=hostile.api_url, timeout=10) as client:
            while not stop.is_set():
                started = time.monotonic()
                assert client.get("/healthz").status_code == 200
                latencies_s.append(time.monotonic() - started)
                time.sleep(0.02)

    def attack(name: str) -> int:
        body, boundary, _, _ = PATHOLOGICAL[name]
        response = httpx.post(
            f"{hostile.api_url}/v1/documents", content=body, headers=upload_headers(key, boundary), timeout=30
        )
        return response.status_code

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(attack, hostile_cases * 3))
    finally:
        stop.set()
        prober.join()
    assert set(statuses) <= {400, 429}, statuses
    assert len(latencies_s) >= 5
    assert max(latencies_s) < 1.0, f"/healthz took {max(latencies_s):.2f}s while under attack"


def test_missing_and_empty_files(hostile: HostileStack, tenant_key: tuple[str, str]) -> None:
    tenant, key = tenant_key
    before = blob_files(hostile)
    with hostile.client(key) as api:
        misplaced = api.post("/v1/documents", data={"chunk_size": "500"}, files={"other": ("x", b"")})
        assert misplaced.status_code == 400
        assert misplaced.json()["code"] == "too_many_files"  # a file, but not in the `file` field
        only_fields = api.post(
            "/v1/documents",
            content=multipart([part("chunk_size", b"500")]),
            headers={"Content-Type": content_type()},
        )
        assert only_fields.status_code == 422
        assert only_fields.json()["code"] == "missing_file"
        empty = api.post("/v1/documents", files={"file": ("empty.pdf", b"", "application/pdf")})
        assert empty.status_code == 400
        assert empty.json()["code"] == "empty_file"
    assert_nothing_left(hostile, tenant, before)


@pytest.mark.parametrize(
    ("data", "filename", "declared"),
    [
        (GIF, "x.pdf", "application/pdf"),
        (b"PK\x03\x04" + bytes(500), "report.txt", "text/plain"),
        (b"\x7fELF\x02\x01\x01" + bytes(500), "notes.md", "text/markdown"),
        (bytes(range(256)) * 8, "doc.pdf", "application/pdf"),
        (b"MZ\x90\x00" + bytes(300), "x.txt", "text/plain"),
    ],
)
def test_unsupported_bytes_are_415_whatever_the_name_and_type(
    hostile: HostileStack, tenant_key: tuple[str, str], data: bytes, filename: str, declared: str
) -> None:
    tenant, key = tenant_key
    before = blob_files(hostile)
    with hostile.client(key) as api:
        response = api.post("/v1/documents", files={"file": (filename, data, declared)})
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unsupported_media_type"
    assert_nothing_left(hostile, tenant, before)


@pytest.mark.parametrize(
    ("filename", "declared"), [("doc.pdf", "application/octet-stream"), ("x.txt", "text/plain")]
)
def test_a_real_pdf_is_accepted_whatever_the_name_and_type(
    hostile_api: httpx.Client, filename: str, declared: str
) -> None:
    marker = uuid.uuid4().hex
    response = hostile_api.post(
        "/v1/documents", files={"file": (filename, make_pdf(1, lambda _: f"Real {marker}"), declared)}
    )
    assert response.status_code == 202, response.text
    task = wait_terminal(hostile_api, response.json()["task_id"])
    assert task["state"] == "succeeded"
    assert task["media_type"] == "application/pdf"
    result = hostile_api.get(f"/v1/tasks/{task['task_id']}/result").json()
    assert marker in result["pages"][0]["text"]


HOSTILE_NAMES: list[tuple[bytes, str]] = [
    (b"../../../../etc/passwd", "passwd"),
    (b"/etc/cron.d/evil.pdf", "evil.pdf"),
    (b"C:\\Windows\\System32\\evil.pdf", "evil.pdf"),
    (b"a\x00b.pdf", "ab.pdf"),
    (b"bell\x07esc\x1b[31m\x7f.pdf", "bellesc[31m.pdf"),
    ("invoice\u202efdp.exe".encode(), "invoicefdp.exe"),
    (b"..", "document"),
    (b"x" * 10_240 + b".pdf", "x" * 255),
]


@pytest.mark.parametrize(("raw", "shown"), HOSTILE_NAMES)
def test_hostile_filenames_are_display_metadata_only(
    hostile: HostileStack, tenant_key: tuple[str, str], raw: bytes, shown: str
) -> None:
    _, key = tenant_key
    before = blob_files(hostile)
    body = multipart([part("file", f"text {uuid.uuid4().hex}".encode(), raw)])
    response = httpx.post(
        f"{hostile.api_url}/v1/documents", content=body, headers=upload_headers(key), timeout=30
    )
    assert response.status_code == 202, response.text
    task_id = response.json()["task_id"]
    with hostile.client(key) as client:
        assert client.get(f"/v1/tasks/{task_id}").json()["filename"] == shown
    new = blob_files(hostile) - before
    # The only new file is the upload, under a key the server made from the task id.
    assert {path.relative_to(hostile.blob_dir).as_posix() for path in new} == {f"uploads/{task_id}"}
    assert not list(hostile.blob_dir.parent.rglob("passwd"))
