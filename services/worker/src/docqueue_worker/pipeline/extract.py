"""Extract text page by page; the caller learns of every page so it can report and cancel."""

from collections.abc import Iterator

from pypdf import PdfReader

from docqueue.results import Page
from docqueue_worker.pipeline.read import pdf_errors


def extract_pdf_pages(reader: PdfReader, first: int = 1, last: int | None = None) -> Iterator[Page]:
    """Yield the text of pages `first` to `last` (1-based, inclusive; all by default) in order. A
    generator, so the caller may stop between pages."""
    for number in range(first, (last or len(reader.pages)) + 1):
        with pdf_errors():
            text = reader.pages[number - 1].extract_text()
        yield Page(number=number, text=text.replace("\x00", ""))
