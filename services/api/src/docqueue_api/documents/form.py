"""Stream a multipart form's files straight into the blob store, enforcing every limit as bytes arrive.

Nothing is spooled: each file part is hashed, sniffed and written while it streams, so a form over a
size cap is refused without reading the rest of the body. A file's blob writer is opened with its
first megabyte's write, so a small file costs one trip to a worker thread (open, write, commit),
not three, and a file that is refused never touches the store. An upload has one file; a batch
many, each with a blob of its own (`open_writer(index)`).
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

# Bytes handed to the blob store per write; smaller pieces are gathered first.
WRITE_BATCH_BYTES = 1024 * 1024
MAX_PART_HEADERS = 8
# One header line of a part. Room for a 10 KB filename (kept only as display metadata, cut to 255
# characters); python-multipart refuses a longer line before buffering it.
MAX_PART_HEADER_BYTES = 16 * 1024
# RFC 2046: 1-70 of these characters, not ending in a space.
_BOUNDARY_CHARS = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ")
MAX_BOUNDARY_CHARS = 70
NOT_READ = (
    "the file is not a format docqueue reads (checked from its bytes): PDF, DOCX, PPTX, XLSX, ODT, "
    "EPUB, HTML, PNG, JPEG, TIFF, WebP, or UTF-8 text (plain, Markdown, CSV)"
)


@dataclass(frozen=True)
class FormLimits:
    """What one form may hold: `max_files` files of at most `max_file_bytes` each (and, when set,
    `max_total_bytes` together), `max_parts` parts, option fields of `max_field_bytes`."""

    file_field: str
    max_file_bytes: int
    max_parts: int
    max_field_bytes: int
    max_files: int = 1
    max_total_bytes: int | None = None
    # What answers one file too many.
    too_many_files: Callable[[int], ProblemError] = field(
        default=lambda most: ProblemError(400, ProblemCode.TOO_MANY_FILES, "send exactly one file per upload")
    )

    def body_cap(self) -> int:
        """The most bytes a body may hold: the files plus room for the framing and the fields."""
        files = self.max_total_bytes or self.max_files * self.max_file_bytes
        return files + self.max_parts * (self.max_field_bytes + MAX_PART_HEADER_BYTES)


@dataclass
class ReceivedFile:
    """One file of the form. `media_type` is None when it is empty (`size_bytes` 0) or its bytes
    are no format docqueue reads; nothing of it was kept then."""

    index: int
    filename: str
    media_type: MediaType | None
    size_bytes: int
    sha256: str

    @property
    def stored(self) -> bool:
        return self.media_type is not None


@dataclass
class Form:
    files: list[ReceivedFile]
    fields: dict[str, str]


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


@dataclass
class IncomingFile:
    """A file part as it streams."""

    index: int
    filename: str
    writer: _LazyWriter
    size: int = 0
    hasher: "hashlib._Hash" = field(default_factory=hashlib.sha256)
    head: bytearray = field(default_factory=bytearray)  # the first bytes, for sniffing
    pending: bytearray = field(default_factory=bytearray)  # bytes not yet written
    media_type: MediaType | None = None
    sniffed: bool = False
    done: bool = False
    settled: bool = False  # committed, or (empty or unreadable) dropped

    def sniff(self) -> None:
        if not self.sniffed and (len(self.head) >= SNIFF_BYTES or self.done):
            self.sniffed = True
            self.media_type = sniff(bytes(self.head), self.filename) if self.size else None

    @property
    def unreadable(self) -> bool:
        """Sniffed, not empty, and no format docqueue reads: its bytes are counted, never kept."""
        return self.sniffed and self.media_type is None and self.size > 0

    def take_pending(self) -> bytes:
        data = bytes(self.pending)
        self.pending.clear()
        return data

    def received(self) -> ReceivedFile:
        return ReceivedFile(self.index, self.filename, self.media_type, self.size, self.hasher.hexdigest())


class _Receiver:
    """The parser's callbacks collect parts; the async loop drains file bytes into the store."""

    def __init__(self, limits: FormLimits, open_writer: Callable[[int], BlobWriter]) -> None:
        self.limits = limits
        self.open_writer = open_writer
        self.parts = 0
        self.fields: dict[str, str] = {}
        self.files: list[IncomingFile] = []
        self.total = 0
        self._file: IncomingFile | None = None  # the file part being read
        self._name: str | None = None
        self._data = bytearray()
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
        self._file, self._name = None, None
        self._data = bytearray()
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
        self._name = name.decode("utf-8", "replace")
        filename = params.get(b"filename")
        if self._name == self.limits.file_field:
            if len(self.files) >= self.limits.max_files:
                raise self.limits.too_many_files(self.limits.max_files)
            index = len(self.files)
            self._file = IncomingFile(
                index,
                filename.decode("utf-8", "replace") if filename is not None else "",
                _LazyWriter(lambda: self.open_writer(index)),
            )
            self.files.append(self._file)
        elif filename is not None:
            raise ProblemError(400, ProblemCode.TOO_MANY_FILES, f"unexpected file in field {self._name!r}")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        piece = data[start:end]
        file = self._file
        if file is not None:
            file.size += len(piece)
            self.total += len(piece)
            self._check_sizes(file)
            file.hasher.update(piece)
            if len(file.head) < SNIFF_BYTES:
                file.head.extend(piece[: SNIFF_BYTES - len(file.head)])
            file.sniff()
            if not file.unreadable:
                file.pending.extend(piece)
            return
        self._data.extend(piece)
        if len(self._data) > self.limits.max_field_bytes:
            raise ProblemError(
                400,
                ProblemCode.FIELD_TOO_LARGE,
                f"form field {self._name!r} is over {self.limits.max_field_bytes} bytes",
            )

    def _check_sizes(self, file: IncomingFile) -> None:
        limits = self.limits
        if file.size > limits.max_file_bytes:
            which = f"file {file.index + 1} ({file.filename!r})" if limits.max_files > 1 else "the file"
            raise ProblemError(
                413, ProblemCode.PAYLOAD_TOO_LARGE, f"{which} is larger than {limits.max_file_bytes} bytes"
            )
        if limits.max_total_bytes is not None and self.total > limits.max_total_bytes:
            raise ProblemError(
                413,
                ProblemCode.PAYLOAD_TOO_LARGE,
                f"the files are larger than {limits.max_total_bytes} bytes",
            )

    def on_part_end(self) -> None:
        if self._file is not None:
            self._file.done = True
            self._file.sniff()
        elif self._name is not None:
            if self._name in self.fields:
                raise ProblemError(400, ProblemCode.DUPLICATE_FIELD, f"form field {self._name!r} is repeated")
            self.fields[self._name] = self._data.decode("utf-8", "replace")


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


async def receive_form(
    request: Request,
    limits: FormLimits,
    open_writer: Callable[[int], BlobWriter],
    on_file: Callable[[IncomingFile], None] | None = None,
) -> Form:
    """Parse the body, each file into a writer from `open_writer(index)`, committed at its end
    (an empty or unreadable one is never opened). `on_file` sees each file once it is sniffed
    and may raise to refuse the form. On any error every writer still open is aborted: the
    caller deletes the blobs of files already committed."""
    receiver = _Receiver(limits, open_writer)
    try:
        return await _receive(request, limits, receiver, on_file)
    except BaseException:
        for file in receiver.files:
            if not file.settled:
                await file.writer.abort()
        raise


async def _receive(
    request: Request, limits: FormLimits, receiver: _Receiver, on_file: Callable[[IncomingFile], None] | None
) -> Form:
    boundary = _boundary(request)
    declared = request.headers.get("content-length")
    body_cap = limits.body_cap()
    if declared is not None and declared.isdigit() and int(declared) > body_cap:
        raise ProblemError(413, ProblemCode.PAYLOAD_TOO_LARGE, f"the request is larger than {body_cap} bytes")
    parser = MultipartParser(
        boundary,
        receiver.callbacks(),  # type: ignore[arg-type]
        max_header_count=MAX_PART_HEADERS,
        max_header_size=MAX_PART_HEADER_BYTES,
    )
    seen = 0  # files handed to `on_file` so far
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            for file in receiver.files[seen:]:
                if not file.sniffed:
                    break
                if on_file is not None:
                    on_file(file)
                seen += 1
            await _drain(receiver)
        parser.finalize()
    except MultipartParseError as exc:
        raise ProblemError(
            400, ProblemCode.INVALID_MULTIPART, f"the multipart body is malformed: {exc}"
        ) from exc
    except ClientDisconnect as exc:
        raise ProblemError(400, ProblemCode.CLIENT_DISCONNECTED, "the upload was interrupted") from exc
    if receiver.files and not receiver.files[-1].done:
        raise ProblemError(400, ProblemCode.INVALID_MULTIPART, "the body ended before the file part did")
    for file in receiver.files[seen:]:
        if on_file is not None:
            on_file(file)
    await _drain(receiver)
    return Form([file.received() for file in receiver.files], receiver.fields)


async def _drain(receiver: _Receiver) -> None:
    """Write what gathered: a finished file is committed, a large pending piece written."""
    for file in receiver.files:
        if file.settled:
            continue
        if file.unreadable or (file.done and file.size == 0):
            file.pending.clear()
            await file.writer.abort()
            file.settled = True  # nothing to keep
        elif file.done:
            await file.writer.commit(file.take_pending())
            file.settled = True
        elif len(file.pending) >= WRITE_BATCH_BYTES:
            await file.writer.write(file.take_pending())
