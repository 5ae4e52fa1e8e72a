"""Extract text page by page; the caller learns of every page so it can report and cancel."""

from collections.abc import Iterator

from pypdf import PdfReader

from docqueue.results import Page
from docqueue_worker.pipeline.read import pdf_errors


def extract_pdf_pages(reader: PdfReader) -> Iterator[Page]:
    """Yield each page's text in order. A generator, so the caller may stop between pages."""
    for number, page in enumerate(reader.pages, start=1):
        with pdf_errors():
            text = page.extract_text()
        yield Page(number=number, text=text.replace("\x00", ""))
