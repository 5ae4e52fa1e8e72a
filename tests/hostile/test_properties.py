"""Property-based tests (hypothesis) of the multipart receiver and the sniffer: pure, no network."""

import asyncio
import hashlib
import itertools

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.types import Message

from docqueue.media import PDF_HEADER_WINDOW, MediaType, sniff
from docqueue_api.documents.upload import Upload, UploadLimits, receive_upload
from docqueue_api.problems import ProblemError
from tests.hostile.wire import BOUNDARY, content_type, multipart, part

LIMITS = UploadLimits(max_file_bytes=64 * 1024, max_parts=8, max_field_bytes=2048)
PROPERTIES = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


class MemoryWriter:
    """A blob writer that keeps bytes in memory and records how it ended."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.opened = False
        self.committed = False
        self.aborted = False

    def open(self) -> "MemoryWriter":
        self.opened = True
        return self

    @property
    def left_nothing(self) -> bool:
        """Refused: never opened, or opened and aborted; never committed."""
        return not self.committed and (self.aborted or not self.opened)

    def write(self, data: bytes) -> None:
        self.data.extend(data)

    def commit(self) -> None:
        self.committed = True

    def abort(self) -> None:
        self.aborted = True


def receive(
    body: bytes, cuts: list[int], ctype: str = content_type()
) -> tuple[Upload | ProblemError, MemoryWriter]:
    """Feed `body` to the receiver split at `cuts`, as a server would hand it over."""
    points = sorted({c % (len(body) + 1) for c in cuts} | {0, len(body)})
    pieces = [body[a:b] for a, b in itertools.pairwise(points)]
    messages: list[Message] = [
        {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
        for i, piece in enumerate(pieces)
    ] or [{"type": "http.request", "body": b"", "more_body": False}]

    async def next_message() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/documents",
        "headers": [(b"content-type", ctype.encode())],
        "query_string": b"",
    }
    writer = MemoryWriter()

    async def run() -> Upload | ProblemError:
        try:
            return await receive_upload(Request(scope, next_message), LIMITS, writer.open)
        except ProblemError as exc:
            return exc

    return asyncio.run(run()), writer


field_names = st.sampled_from(["chunk_size", "chunk_overlap", "note", "x"])
field_values = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=200)
cut_points = st.lists(st.integers(min_value=0, max_value=10**6), max_size=20)


@PROPERTIES
@given(
    file_bytes=st.binary(min_size=1, max_size=LIMITS.max_file_bytes + 64),
    fields=st.dictionaries(field_names, field_values, max_size=3),
    cuts=cut_points,
)
# Always both sides of the cap (the PDF header adds 9 bytes to the file), cut mid-stream.
@example(file_bytes=b"x" * (LIMITS.max_file_bytes - 9), fields={}, cuts=[4096])
@example(file_bytes=b"x" * (LIMITS.max_file_bytes - 8), fields={}, cuts=[4096])
def test_a_well_formed_upload_arrives_intact_however_it_is_cut(
    file_bytes: bytes, fields: dict[str, str], cuts: list[int]
) -> None:
    data = b"%PDF-1.7\n" + file_bytes
    parts = [part(name, value.encode()) for name, value in fields.items()]
    body = multipart([*parts, part("file", data, "doc.pdf")])
    answer, writer = receive(body, cuts)
    if len(data) > LIMITS.max_file_bytes:
        assert isinstance(answer, ProblemError)
        assert answer.status == 413
        return
    assert isinstance(answer, Upload), answer
    assert answer.media_type == MediaType.PDF
    assert answer.size_bytes == len(data)
    assert answer.sha256 == hashlib.sha256(data).hexdigest()
    assert answer.fields == fields
    assert bytes(writer.data) == data
    assert writer.committed
    assert not writer.aborted


@PROPERTIES
@given(body=st.binary(max_size=4096), cuts=cut_points)
def test_arbitrary_bytes_are_refused_cleanly_or_parsed(body: bytes, cuts: list[int]) -> None:
    answer, writer = receive(body, cuts)
    if isinstance(answer, ProblemError):
        assert answer.status in (400, 413, 415, 422), answer.status
        assert writer.left_nothing
    else:
        # Parsed: its file stored, or none sent (a source_url submission, judged by the service).
        assert writer.committed == answer.has_file
        assert writer.left_nothing or answer.has_file


@PROPERTIES
@given(
    prefix=st.binary(max_size=200),
    middle=st.binary(max_size=2000),
    suffix=st.binary(max_size=200),
    cuts=cut_points,
)
def test_mutated_multipart_never_escapes_as_an_unexpected_error(
    prefix: bytes, middle: bytes, suffix: bytes, cuts: list[int]
) -> None:
    """Valid framing with hostile bytes spliced in: only problems (4xx) or a parsed upload."""
    mark = b"--" + BOUNDARY.encode()
    body = (
        prefix
        + mark
        + b"\r\n"
        + part("file", b"%PDF-" + middle, "a.pdf")
        + suffix
        + b"\r\n"
        + mark
        + b"--\r\n"
    )
    answer, writer = receive(body, cuts)
    assert isinstance(answer, Upload | ProblemError)
    if isinstance(answer, ProblemError):
        assert 400 <= answer.status < 500
        assert writer.left_nothing


@PROPERTIES
@given(boundary=st.text(max_size=120), cuts=cut_points)
def test_any_boundary_parameter_is_handled(boundary: str, cuts: list[int]) -> None:
    ctype = f'multipart/form-data; boundary="{boundary}"'
    try:
        ctype.encode("latin-1")
    except UnicodeEncodeError:
        return
    answer, _ = receive(multipart([part("file", b"hello", "a.txt")], boundary or "x"), cuts, ctype)
    assert isinstance(answer, Upload | ProblemError)


@PROPERTIES
@given(head=st.binary(max_size=9000), name=st.text(max_size=300))
def test_sniffing_decides_from_bytes_and_never_fails(head: bytes, name: str) -> None:
    found = sniff(head, name)
    without_name = sniff(head, "")
    # The filename may only pick Markdown or CSV over plain text; it never makes bytes acceptable.
    assert (found is None) == (without_name is None)
    if found not in (MediaType.TEXT, MediaType.MARKDOWN, MediaType.CSV):
        assert found == without_name


@PROPERTIES
@given(
    before=st.binary(max_size=PDF_HEADER_WINDOW - 5),
    after=st.binary(max_size=2000),
    name=st.text(max_size=50),
)
def test_a_pdf_header_in_the_first_kib_is_a_pdf_whatever_the_name(
    before: bytes, after: bytes, name: str
) -> None:
    assert sniff(before + b"%PDF-" + after, name) == MediaType.PDF


@PROPERTIES
@given(
    text=st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), min_size=1, max_size=3000),
    cut=st.integers(min_value=0, max_value=3),
)
def test_utf8_text_is_text_even_when_the_window_cuts_a_character(text: str, cut: int) -> None:
    data = text.encode()
    if b"%PDF-" in data[:PDF_HEADER_WINDOW]:
        return
    head = data[: max(1, len(data) - cut)]
    assert sniff(head, "notes.md") == MediaType.MARKDOWN
    assert sniff(head, "notes.txt") == MediaType.TEXT
