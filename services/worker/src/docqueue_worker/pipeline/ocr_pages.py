"""Pages read by OCR where the job's `ocr` option says so: a PDF's scanned pages, and every
frame of an image. Each page says how it was read (`method`, `ocr_confidence`)."""

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

import pypdfium2 as pdfium

from docqueue.jobs.model import JobOptions, OcrMode
from docqueue.metrics import worker_metrics
from docqueue.results import Page, ResultWarning
from docqueue.settings import Settings
from docqueue_worker.pipeline.images import MAX_IMAGE_PIXELS
from docqueue_worker.pipeline.ocr import TESSERACT
from docqueue_worker.pipeline.pdfium import PdfiumSource, open_pdfium, pdfium_errors
from docqueue_worker.pipeline.scan import check_images, render, survey, text_layer_is_empty

if TYPE_CHECKING:
    from PIL import Image

    from docqueue_worker.pipeline.engines import PdfSource


@dataclass(frozen=True)
class OcrPolicy:
    mode: OcrMode
    languages: str
    dpi: int
    max_pixels: int

    @classmethod
    def of(cls, options: JobOptions, settings: Settings) -> "OcrPolicy":
        return cls(options.ocr, options.ocr_languages, settings.ocr_dpi, settings.ocr_max_pixels)


def ocr_page(number: int, image: "Image.Image", languages: str) -> Page:
    began = time.perf_counter()
    read = TESSERACT.read(image, languages)
    worker_metrics().ocr_page.observe(time.perf_counter() - began)
    return Page(number=number, text=read.text, method="ocr", ocr_confidence=round(read.confidence, 3))


class PdfScanner:
    """Decides page by page whether a PDF page is read by OCR, and reads it. PDFium renders the
    page whatever engine read its text layer; it is opened only when a page needs it."""

    def __init__(self, stream: BinaryIO, policy: OcrPolicy, max_pages: int, pdfium_source: object) -> None:
        self.stream = stream
        self.policy = policy
        self.max_pages = max_pages
        # The pdfium engine's own document, or None: one is opened on the first page that needs it.
        self._shared = pdfium_source if isinstance(pdfium_source, PdfiumSource) else None
        self._own: PdfiumSource | None = None

    def read(self, page: Page) -> Page:
        mode = self.policy.mode
        if mode == OcrMode.NEVER or (mode == OcrMode.AUTO and not text_layer_is_empty(page.text)):
            return page
        with pdfium_errors():
            pdf_page = self._document()[page.number - 1]
            try:
                drawing = survey(pdf_page)
                if mode == OcrMode.AUTO and not drawing.scanned:
                    return page
                check_images(drawing, MAX_IMAGE_PIXELS)
                image = render(pdf_page, self.policy.dpi, self.policy.max_pixels)
            finally:
                pdf_page.close()
        return ocr_page(page.number, image, self.policy.languages)

    def looks_scanned(self, pdf: "PdfSource") -> bool:
        """Whether this document's pages will be read by OCR, from its first, middle and last page
        (a scan is a scan throughout): how its parts are sized (docqueue.jobs.parts.part_size)."""
        mode = self.policy.mode
        if mode != OcrMode.AUTO:
            return mode == OcrMode.ALWAYS
        count = pdf.page_count
        for number in sorted({1, (count + 1) // 2, count}):
            page = next(pdf.pages(number, number))
            if not text_layer_is_empty(page.text):
                continue
            with pdfium_errors():
                pdf_page = self._document()[number - 1]
                try:
                    if survey(pdf_page).scanned:
                        return True
                finally:
                    pdf_page.close()
        return False

    def _document(self) -> pdfium.PdfDocument:
        if self._shared is not None:
            return self._shared.document
        if self._own is None:
            position = self.stream.tell()
            self.stream.seek(0)
            try:
                self._own = open_pdfium(self.stream, self.max_pages)
            finally:
                self.stream.seek(position)
        return self._own.document

    def close(self) -> None:
        if self._own is not None:
            self._own.close()


def result_warnings(pages: list[Page], low_confidence: float) -> list[ResultWarning]:
    warnings = []
    if not any(page.text.strip() for page in pages):
        warnings.append(ResultWarning.NO_TEXT_FOUND)
    scores = [page.ocr_confidence for page in pages if page.ocr_confidence is not None and page.text.strip()]
    if scores and sum(scores) / len(scores) < low_confidence:
        warnings.append(ResultWarning.OCR_LOW_CONFIDENCE)
    return warnings
