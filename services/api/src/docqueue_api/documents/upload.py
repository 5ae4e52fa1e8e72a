"""Stream a multipart upload straight into the blob store, enforcing every limit as bytes arrive.

Nothing is spooled: the file part is hashed, sniffed and written while it streams, so an upload
over the size cap is refused without reading the rest of the body, and an upload that is refused
for any reason leaves nothing behind. The blob writer is opened with the first megabyte's write, so
a small upload costs one trip to a worker thread (open, write, commit), not three, and a refused
one never touches the store.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from docqueue.errors import ProblemCode
from docqueue.media import SNIFF_BYTES, MediaType, sniff
from docqueue.storage import BlobWriter
from docqueue_api.problems import ProblemError

FILE_FIELD = "file"
# Bytes handed to the blob store per write; smaller pieces are gathered first.
WRITE_BATCH_BYTES = 1024 * 1024
MAX_PART_HEADERS = 8
# One header line of a part. Room for a 10 KB filename (kept only as display metadata, cut to 255
# characters); python-multipart refuses a longer line before buffering it.
MAX_PART_HEADER_BYTES = 16 * 1024
# RFC 2046: 1-70 of these characters, not ending in a space.
_BOUNDARY_CHARS = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ")
MAX_BOUNDARY_CHARS = 70


@dataclass(frozen=True)
class UploadLimits:
    max_file_bytes: int
    max_parts: int
    max_field_bytes: int


def upload_body_cap(limits: UploadLimits) -> int:
    """The most bytes an upload body may hold: the file plus room for the framing and option fields."""
    return limits.max_file_bytes + limits.max_parts * (limits.max_field_bytes + MAX_PART_HEADER_BYTES)


@dataclass
class Upload:
    """A received upload: the file already committed to the blob store, and the other fields.
    Without a file part (a `source_url` submission) `media_type` is None and nothing was stored."""

    filename: str
    media_type: MediaType | None
    size_bytes: int
    sha256: str
    fields: dict[str, str]

    @property
    def has_file(self) -> bool:
        return self.media_type is not None


@dataclass
class _Part:
    name: str | None = None
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)


class _Receiver:
    """The parser's callbacks collect parts; the async loop drains file bytes into the store."""

    def __init__(self, limits: UploadLimits) -> None:
        self.limits = limits
        self.parts = 0
        self.fields: dict[str, str] = {}
        self.file_seen = False
        self.file_done = False
        self.filename = ""
        self.pending = bytearray()  # file bytes not yet written
        self.head = bytearray()  # the file's first bytes, for sniffing
        self.size = 0
        self.hasher = hashlib.sha256()
        self._part = _Part()
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, bytes] = {}

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": lambda data, start, end: self._header_field.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header_value.extend(data[start:end]),
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
        }

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > self.limits.max_parts:
            raise ProblemError(400, ProblemCode.TOO_MANY_PARTS, f"at most {self.limits.max_parts} form parts")
        self._part = _Part()
        self._headers = {}

    def on_header_end(self) -> None:
        self._headers[self._header_field.decode("latin-1").lower()] = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get("content-disposition", b""))
        name = params.get(b"name")
        if name is None:
            raise ProblemError(400, ProblemCode.INVALID_MULTIPART, "a form part has no name")
        self._part.name = name.decode("utf-8", "replace")
        filename = params.get(b"filename")
        if self._part.name == FILE_FIELD:
            if self.file_seen:
                raise ProblemError(400, ProblemCode.TOO_MANY_FILES, "send exactly one file per upload")
            self.file_seen = True
            self.filename = filename.decode("utf-8", "replace") if filename is not None else ""
        elif filename is not None:
            raise ProblemError(
                400, ProblemCode.TOO_MANY_FILES, f"unexpected file in field {self._part.name!r}"
            )

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        piece = data[start:end]
        if self._part.name == FILE_FIELD:
            self.size += len(piece)
            if self.size > self.limits.max_file_bytes:
                raise ProblemError(
                    413,
                    ProblemCode.PAYLOAD_TOO_LARGE,
                    f"the file is larger than {self.limits.max_file_bytes} bytes",
                )
            self.hasher.update(piece)
            if len(self.head) < SNIFF_BYTES:
                self.head.extend(piece[: SNIFF_BYTES - len(self.head)])
            self.pending.extend(piece)
            return
        self._part.data.extend(piece)
        if len(self._part.data) > self.limits.max_field_bytes:
            raise ProblemError(
                400,
                ProblemCode.FIELD_TOO_LARGE,
                f"form field {self._part.name!r} is over {self.limits.max_field_bytes} bytes",
            )

    def on_part_end(self) -> None:
        if self._part.name == FILE_FIELD:
            self.file_done = True
        elif self._part.name is not None:
            if self._part.name in self.fields:
                raise ProblemError(
                    400, ProblemCode.DUPLICATE_FIELD, f"form field {self._part.name!r} is repeated"
                )
            self.fields[self._part.name] = self._part.data.decode("utf-8", "replace")


def _boundary(request: Request) -> bytes:
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        raise ProblemError(
            415, ProblemCode.UNSUPPORTED_MEDIA_TYPE, "send the document as multipart/form-data"
        )
    boundary = params.get(b"boundary")
    if (
        not boundary
        or len(boundary) > MAX_BOUNDARY_CHARS
        or not set(boundary) <= _BOUNDARY_CHARS
        or boundary.endswith(b" ")
    ):
        raise ProblemError(
            400, ProblemCode.INVALID_MULTIPART, "the multipart boundary is missing, too long or not RFC 2046"
        )
    return boundary


class _LazyWriter:
    """A blob writer opened on its first write; each call is one trip to a worker thread (opening
    a writer creates a file or starts an S3 multipart upload: never on the event loop)."""

    def __init__(self, open_writer: Callable[[], BlobWriter]) -> None:
        self._open_writer = open_writer
        self._writer: BlobWriter | None = None

    def _opened(self) -> BlobWriter:
        if self._writer is None:
            self._writer = self._open_writer()
        return self._writer

    def _write(self, data: bytes) -> None:
        self._opened().write(data)

    def _commit(self, data: bytes) -> None:
        writer = self._opened()
        if data:
            writer.write(data)
        writer.commit()

    async def write(self, data: bytes) -> None:
        await anyio.to_thread.run_sync(self._write, data)

    async def commit(self, data: bytes) -> None:
        """Write the last bytes and commit, in one trip."""
        await anyio.to_thread.run_sync(self._commit, data)

    async def abort(self) -> None:
        if self._writer is not None:
            await anyio.to_thread.run_sync(self._writer.abort)


async def receive_upload(
    request: Request, limits: UploadLimits, open_writer: Callable[[], BlobWriter]
) -> Upload:
    """Parse the body into a writer from `open_writer` and commit it; on any error the writer (if
    one was opened) is aborted."""
    writer = _LazyWriter(open_writer)
    try:
        return await _receive(request, limits, writer)
    except BaseException:
        await writer.abort()
        raise


async def _receive(request: Request, limits: UploadLimits, writer: _LazyWriter) -> Upload:
    boundary = _boundary(request)
    declared = request.headers.get("content-length")
    body_cap = upload_body_cap(limits)
    if declared is not None and declared.isdigit() and int(declared) > body_cap:
        raise ProblemError(
            413, ProblemCode.PAYLOAD_TOO_LARGE, f"the file is larger than {limits.max_file_bytes} bytes"
        )
    receiver = _Receiver(limits)
    parser = MultipartParser(
        boundary,
        receiver.callbacks(),  # type: ignore[arg-type]
        max_header_count=MAX_PART_HEADERS,
        max_header_size=MAX_PART_HEADER_BYTES,
    )
    sniffed: MediaType | None = None
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if (
                sniffed is None
                and receiver.file_seen
                and (len(receiver.head) >= SNIFF_BYTES or receiver.file_done)
            ):
                sniffed = _sniff(receiver)
            if len(receiver.pending) >= WRITE_BATCH_BYTES:
                await _flush(receiver, writer)
        parser.finalize()
    except MultipartParseError as exc:
        raise ProblemError(
            400, ProblemCode.INVALID_MULTIPART, f"the multipart body is malformed: {exc}"
        ) from exc
    except ClientDisconnect as exc:
        raise ProblemError(400, ProblemCode.CLIENT_DISCONNECTED, "the upload was interrupted") from exc
    if receiver.file_seen and not receiver.file_done:
        raise ProblemError(400, ProblemCode.INVALID_MULTIPART, "the body ended before the file part did")
    if not receiver.file_seen:
        return Upload(filename="", media_type=None, size_bytes=0, sha256="", fields=receiver.fields)
    if receiver.size == 0:
        raise ProblemError(400, ProblemCode.EMPTY_FILE, "the file is empty")
    sniffed = sniffed or _sniff(receiver)
    await writer.commit(_take_pending(receiver))
    return Upload(
        filename=receiver.filename,
        media_type=sniffed,
        size_bytes=receiver.size,
        sha256=receiver.hasher.hexdigest(),
        fields=receiver.fields,
    )


def _sniff(receiver: _Receiver) -> MediaType:
    media_type = sniff(bytes(receiver.head), receiver.filename)
    if media_type is None and receiver.size > 0:
        raise ProblemError(
            415,
            ProblemCode.UNSUPPORTED_MEDIA_TYPE,
            "the file is not a format docqueue reads (checked from its bytes): PDF, DOCX, PPTX, XLSX, ODT, "
            "EPUB, HTML, PNG, JPEG, TIFF, WebP, or UTF-8 text (plain, Markdown, CSV)",
        )
    return media_type or MediaType.TEXT


def _take_pending(receiver: _Receiver) -> bytes:
    data = bytes(receiver.pending)
    receiver.pending.clear()
    return data


async def _flush(receiver: _Receiver, writer: _LazyWriter) -> None:
    if receiver.pending:
        await writer.write(_take_pending(receiver))
