"""An upload's body: one file (or none, for a `source_url`) and its option fields, streamed into
the blob store by the form receiver (docqueue_api.documents.form) with every limit enforced as
bytes arrive; an upload refused for any reason leaves nothing behind."""

from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request

from docqueue.errors import ProblemCode
from docqueue.media import MediaType
from docqueue.storage import BlobWriter
from docqueue_api.documents.form import NOT_READ, FormLimits, IncomingFile, receive_form
from docqueue_api.problems import ProblemError

FILE_FIELD = "file"


@dataclass(frozen=True)
class UploadLimits:
    max_file_bytes: int
    max_parts: int
    max_field_bytes: int

    def form(self) -> FormLimits:
        return FormLimits(FILE_FIELD, self.max_file_bytes, self.max_parts, self.max_field_bytes)


def upload_body_cap(limits: UploadLimits) -> int:
    """The most bytes an upload body may hold: the file plus room for the framing and option fields."""
    return limits.form().body_cap()


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


def _refuse_unreadable(file: IncomingFile) -> None:
    # Refused as soon as its first bytes are in: the rest of the body is never read.
    if file.unreadable:
        raise ProblemError(415, ProblemCode.UNSUPPORTED_MEDIA_TYPE, NOT_READ)


async def receive_upload(
    request: Request, limits: UploadLimits, open_writer: Callable[[], BlobWriter]
) -> Upload:
    """Parse the body into a writer from `open_writer` and commit it; on any error the writer (if
    one was opened) is aborted."""
    form = await receive_form(request, limits.form(), lambda index: open_writer(), _refuse_unreadable)
    if not form.files:
        return Upload(filename="", media_type=None, size_bytes=0, sha256="", fields=form.fields)
    [file] = form.files
    if file.size_bytes == 0:
        raise ProblemError(400, ProblemCode.EMPTY_FILE, "the file is empty")
    assert file.media_type is not None
    return Upload(file.filename, file.media_type, file.size_bytes, file.sha256, form.fields)
