"""Scans made in the tests: a generated text PDF's pages rendered with PDFium, then wrapped as an
image-only PDF, a PNG or a multi-page TIFF (what a scanner or a fax produces)."""

import io
import re

import pypdfium2 as pdfium
from PIL import Image

from docqueue_worker.pipeline.scan import render


def page_images(pdf: bytes, dpi: int = 200) -> list[Image.Image]:
    """Every page in grey at `dpi`, rendered as the worker renders pages for OCR."""
    document = pdfium.PdfDocument(pdf)
    try:
        return [render(document[index], dpi, 10**9) for index in range(len(document))]
    finally:
        document.close()


def image_pdf(images: list[Image.Image], dpi: int = 200) -> bytes:
    """An image-only PDF: no text layer at all, as a scanner writes it."""
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return out.getvalue()


def image_file(images: list[Image.Image], fmt: str) -> bytes:
    out = io.BytesIO()
    if len(images) > 1:
        images[0].save(out, format=fmt, save_all=True, append_images=images[1:])
    else:
        images[0].save(out, format=fmt)
    return out.getvalue()


def words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]{3,}", text.lower())


def recall(original: str, read: str) -> float:
    """Share of the original's words (3+ letters) that the OCR text contains, with repeats."""
    want = words(original)
    have: dict[str, int] = {}
    for word in words(read):
        have[word] = have.get(word, 0) + 1
    found = 0
    for word in want:
        if have.get(word, 0) > 0:
            have[word] -= 1
            found += 1
    return found / max(1, len(want))
