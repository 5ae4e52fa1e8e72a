"""Open an upload and check it can be processed; every refusal is a permanent `DocumentError`."""

import binascii
import codecs
import logging
import struct
import sys
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, LimitReachedError, PdfReadError, PyPdfError

from docqueue.errors import DocumentError, ErrorCode
from docqueue.media import MediaType, sniff
from docqueue.results import Page

# pypdf logs a warning for every robustness fix; a hostile file can trigger millions of them. Past
# this many per document the rest are dropped, so one upload cannot flood the worker's logs.
PDF_WARNINGS_PER_DOCUMENT = 20
_PYPDF_LOGGER = "pypdf"
# What pypdf's parser lets escape on malformed structure besides its own errors: all mean "corrupt".
_MALFORMED = (
    PdfReadError,
    PyPdfError,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    ZeroDivisionError,
    OverflowError,
    AssertionError,
    NotImplementedError,
    struct.error,
    zlib.error,
    binascii.Error,
)


class _WarningBudget(logging.Filter):
    """Lets the current document's first warnings through and drops the rest.

    A filter on each pypdf module's own logger, deciding per record: nothing is reconfigured
    while pypdf logs, because it logs from deep inside a hostile structure's recursion, where
    even `Logger.setLevel` can hit the recursion limit halfway and leave a stale level cache.
    """

    def __init__(self) -> None:
        super().__init__()
        self.left = PDF_WARNINGS_PER_DOCUMENT

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        self.left -= 1
        return self.left >= 0


_BUDGET = _WarningBudget()


def limit_pdf_warnings() -> None:
    """Start a new document's warning budget (a pool process parses one document at a time).
    pypdf logs through one logger per module (`logging.getLogger(__name__)`): each gets the filter."""
    _BUDGET.left = PDF_WARNINGS_PER_DOCUMENT
    for name in [module for module in sys.modules if module.split(".", 1)[0] == _PYPDF_LOGGER]:
        logger = logging.getLogger(name)
        if _BUDGET not in logger.filters:
            logger.addFilter(_BUDGET)


@contextmanager
def pdf_errors() -> Iterator[None]:
    """Translate what pypdf raises on hostile or broken files into our permanent error codes."""
    try:
        yield
    except DocumentError:
        raise
    except FileNotDecryptedError as exc:
        raise DocumentError(ErrorCode.ENCRYPTED_DOCUMENT, "the PDF is encrypted") from exc
    except (LimitReachedError, RecursionError, MemoryError) as exc:
        raise DocumentError(
            ErrorCode.DOCUMENT_TOO_COMPLEX, f"the PDF exceeds a parsing limit: {type(exc).__name__}"
        ) from exc
    except _MALFORMED as exc:
        # pypdf surfaces malformed structure as a zoo of exception types.
        raise DocumentError(ErrorCode.CORRUPT_DOCUMENT, f"the PDF cannot be read: {exc}") from exc


def open_pdf(stream: BinaryIO, max_pages: int) -> PdfReader:
    """A reader for a PDF that is not encrypted (or opens with an empty password) and not too long."""
    limit_pdf_warnings()
    with pdf_errors():
        reader = PdfReader(stream)
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(ErrorCode.ENCRYPTED_DOCUMENT, "the PDF is password-protected")
        page_count = len(reader.pages)
    if page_count == 0:
        raise DocumentError(ErrorCode.EMPTY_DOCUMENT, "the PDF has no pages")
    if page_count > max_pages:
        raise DocumentError(
            ErrorCode.TOO_MANY_PAGES, f"the PDF has {page_count} pages; the limit is {max_pages}"
        )
    return reader


def pdf_metadata(reader: PdfReader) -> tuple[str | None, str | None]:
    """Title and author when the document says; broken metadata is not worth failing over."""
    try:
        meta = reader.metadata
        if meta is None:
            return None, None
        return _clean(meta.title), _clean(meta.author)
    except (*_MALFORMED, RecursionError):
        return None, None


def decode_text(data: bytes) -> str:
    """A text or Markdown upload as one string; it must be UTF-8 throughout."""
    if not data.strip():
        raise DocumentError(ErrorCode.EMPTY_DOCUMENT, "the document is empty")
    try:
        return data.decode("utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            ErrorCode.UNSUPPORTED_TYPE, f"the text is not valid UTF-8 at byte {exc.start}"
        ) from exc


def text_pages(text: str) -> list[Page]:
    """A text document is one page; form feeds, where present, separate pages."""
    parts = text.split("\f") if "\f" in text else [text]
    return [Page(number=number, text=part) for number, part in enumerate(parts, start=1)]


def media_type_of(head: bytes, filename: str) -> MediaType:
    media_type = sniff(head, filename)
    if media_type is None:
        raise DocumentError(ErrorCode.UNSUPPORTED_TYPE, "the bytes are not a format docqueue reads")
    return media_type


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value[:500] or None
