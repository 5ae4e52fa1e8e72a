"""The PDF engines behind one shape: open (with the same checks and codes), page count, the pages'
text in order, title and author. `pypdf` is the default; `pdfium` is the fast one."""

from collections.abc import Iterator
from types import TracebackType
from typing import BinaryIO, Protocol, Self

from pypdf import PdfReader

from docqueue.jobs.model import PdfEngine
from docqueue.results import Page
from docqueue_worker.pipeline.extract import extract_pdf_pages
from docqueue_worker.pipeline.outline import Entry, pypdf_outline
from docqueue_worker.pipeline.pdfium import open_pdfium
from docqueue_worker.pipeline.read import open_pdf, pdf_metadata
from docqueue_worker.pipeline.source import ClosingSource


class PdfSource(Protocol):
    """An opened PDF; `pages()` is a generator so the caller may report and stop between pages."""

    page_count: int

    def pages(self, first: int = 1, last: int | None = None) -> Iterator[Page]: ...

    def metadata(self) -> tuple[str | None, str | None]: ...

    def outline(self) -> list[Entry]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class PypdfSource(ClosingSource):
    """pypdf's reader in the engine shape (the reading itself stays in read.py and extract.py)."""

    def __init__(self, reader: PdfReader) -> None:
        self.reader = reader
        self.page_count = len(reader.pages)

    def pages(self, first: int = 1, last: int | None = None) -> Iterator[Page]:
        return extract_pdf_pages(self.reader, first, last)

    def metadata(self) -> tuple[str | None, str | None]:
        return pdf_metadata(self.reader)

    def outline(self) -> list[Entry]:
        return pypdf_outline(self.reader)

    def close(self) -> None:
        """pypdf holds nothing beyond the stream, which the caller closes."""


def open_source(stream: BinaryIO, engine: PdfEngine, max_pages: int) -> PdfSource:
    """Open `stream` with `engine`; every refusal is a permanent `DocumentError`."""
    if engine == PdfEngine.PDFIUM:
        return open_pdfium(stream, max_pages)
    return PypdfSource(open_pdf(stream, max_pages))
