"""Test documents, generated: multi-page, dense, encrypted, corrupt."""

import io
import textwrap
from collections.abc import Callable

from fpdf import FPDF

WORDS = [
    "queue",
    "worker",
    "broker",
    "redis",
    "celery",
    "document",
    "page",
    "chunk",
    "retrieval",
    "vector",
    "token",
    "extract",
    "progress",
    "result",
    "tenant",
    "upload",
    "status",
    "retry",
    "dead",
    "letter",
    "beat",
    "schedule",
]


def page_text(number: int, words: int = 120) -> str:
    body = " ".join(WORDS[(number * 7 + i) % len(WORDS)] for i in range(words))
    return f"Page {number} begins. {body}. Page {number} ends."


def make_pdf(
    pages: int,
    text: Callable[[int], str] = page_text,
    *,
    title: str | None = None,
    author: str | None = None,
    user_password: str | None = None,
) -> bytes:
    """A PDF whose page N (1-based) holds `text(N)`."""
    pdf = FPDF()
    pdf.set_compression(True)
    if title:
        pdf.set_title(title)
    if author:
        pdf.set_author(author)
    if user_password is not None:
        pdf.set_encryption(owner_password="owner-secret", user_password=user_password)
    pdf.set_font("helvetica", size=10)
    for number in range(1, pages + 1):
        pdf.add_page()
        # Lines placed by hand: fpdf2's multi_cell is far too slow for thousand-page documents.
        for row, line in enumerate(textwrap.wrap(text(number), 95)):
            pdf.text(15, 20 + row * 5, line)
    out = io.BytesIO()
    pdf.output(out)
    return out.getvalue()


def corrupt_pdf() -> bytes:
    """Starts like a PDF, then nothing a reader can use."""
    return b"%PDF-1.7\n" + bytes(range(256)) * 64 + b"\nthis is not a PDF body\n"


def labelled_pdf(pages: int, label: str) -> bytes:
    """A PDF whose pages read "<label> page N": distinct documents for dedupe-free batches."""
    return make_pdf(pages, lambda number: f"{label} page {number}.")
