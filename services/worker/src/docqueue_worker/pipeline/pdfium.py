"""The `pdfium` engine: PDFium (through pypdfium2) reads the text, with pypdf's page shape and codes.

PDFium is C++: a failed allocation aborts the process instead of raising, so the pool process's
memory cap still bounds a hostile file but ends its delivery (README "Performance" says what that
means for the job). PDFium always reads a file by itself (the upload's own, or a temporary copy of
an in-memory one): no Python runs inside a read, so a soft time limit is never raised in a read
callback and mistaken for a corrupt file.
"""

import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from docqueue.errors import DocumentError, ErrorCode
from docqueue.results import Page
from docqueue_worker.pipeline.outline import Entry, pdfium_outline
from docqueue_worker.pipeline.pdf_checks import check_page_count, clean_metadata
from docqueue_worker.pipeline.source import ClosingSource

# PDFium marks a word hyphenated across a line break with U+FFFE and drops the break. It becomes
# the hyphen and break pypdf reports, so the one normalization (normalize.py) decides the join for
# both engines (a compound like "well-known" keeps its hyphen there).
_LINE_BREAK_HYPHEN = "\ufffe"
COPY_CHUNK_BYTES = 1024 * 1024
_ENCRYPTED = frozenset({pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY})


@contextmanager
def pdfium_errors() -> Iterator[None]:
    """Translate PDFium's failures into the permanent codes pypdf's engine uses."""
    try:
        yield
    except DocumentError:
        raise
    except pdfium.PdfiumError as exc:
        if exc.err_code in _ENCRYPTED:
            raise DocumentError(ErrorCode.ENCRYPTED_DOCUMENT, "the PDF is password-protected") from exc
        raise DocumentError(ErrorCode.CORRUPT_DOCUMENT, f"the PDF cannot be read: {exc}") from exc
    except (MemoryError, RecursionError) as exc:
        raise DocumentError(
            ErrorCode.DOCUMENT_TOO_COMPLEX, f"the PDF exceeds a parsing limit: {type(exc).__name__}"
        ) from exc


def normalize_text(text: str) -> str:
    """PDFium's CRLF line breaks as LF, its line-break hyphen marks as a hyphen at a line end, NULs
    dropped: the page's raw text as pypdf would report it."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return text.replace(_LINE_BREAK_HYPHEN, "-\n")


class PdfiumSource(ClosingSource):
    """An open PDFium document: its page count, its pages' text in order, and its metadata."""

    def __init__(self, document: pdfium.PdfDocument, copy: BinaryIO | None = None) -> None:
        self.document = document
        self.copy = copy
        self.page_count: int = len(document)

    def pages(self, first: int = 1, last: int | None = None) -> Iterator[Page]:
        """The text of pages `first` to `last` (1-based, inclusive; all by default); a generator,
        so the caller may stop between pages."""
        for index in range(first - 1, last or self.page_count):
            with pdfium_errors():
                text = _page_text(self.document, index)
            yield Page(number=index + 1, text=normalize_text(text))

    def metadata(self) -> tuple[str | None, str | None]:
        try:
            title = self.document.get_metadata_value("Title")
            author = self.document.get_metadata_value("Author")
        except (pdfium.PdfiumError, UnicodeDecodeError, MemoryError):
            return None, None
        return clean_metadata(title), clean_metadata(author)

    def outline(self) -> list[Entry]:
        return pdfium_outline(self.document)

    def close(self) -> None:
        self.document.close()
        if self.copy is not None:
            self.copy.close()


def open_pdfium(stream: BinaryIO, max_pages: int) -> PdfiumSource:
    """A PDFium document that is not encrypted (or opens with an empty password) and not too long."""
    with pdfium_errors():
        document, copy = _load(stream)
    source = PdfiumSource(document, copy)
    try:
        check_page_count(source.page_count, max_pages)
    except BaseException:
        source.close()
        raise
    return source


def _load(stream: BinaryIO) -> tuple[pdfium.PdfDocument, BinaryIO | None]:
    """The document, and the temporary copy it reads from when `stream` is not a file."""
    copy = None
    path = _descriptor_path(stream)
    if path is None:
        # In memory (a BytesIO): copied, chunk by chunk, to an unlinked temporary file, so PDFium
        # never calls back into Python while it parses.
        copy = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the document
        try:
            shutil.copyfileobj(stream, copy, COPY_CHUNK_BYTES)
            copy.flush()
            path = _descriptor_path(copy)
            if path is None:
                raise RuntimeError("no /proc/self/fd path for a temporary file")
        except BaseException:
            copy.close()
            raise
    # No password: PDFium tries the empty user password, as pypdf's engine does.
    raw = pdfium_c.FPDF_LoadDocument(path.encode() + b"\x00", None)
    if not raw:
        code = pdfium_c.FPDF_GetLastError()
        if copy is not None:
            copy.close()
        raise pdfium.PdfiumError(f"failed to load the document (PDFium error {code})", err_code=code)
    return pdfium.PdfDocument(raw), copy


def _descriptor_path(stream: BinaryIO) -> str | None:
    """A path to the stream's open file, so PDFium reads it itself (even an unlinked temp file)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None
    path = f"/proc/self/fd/{fd}"
    return path if os.path.exists(path) else None


def _page_text(document: pdfium.PdfDocument, index: int) -> str:
    page = document[index]
    try:
        textpage = page.get_textpage()
        try:
            text: str = textpage.get_text_range()
        finally:
            textpage.close()
    finally:
        page.close()
    return text
