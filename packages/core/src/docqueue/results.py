"""The result document a worker stores and the API serves: written once per job."""

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, PrivateAttr


class ResultWarning(StrEnum):
    """Said of a result that succeeded but may not hold what the client hoped for."""

    NO_TEXT_FOUND = "no_text_found"  # not one word, even after OCR
    OCR_LOW_CONFIDENCE = "ocr_low_confidence"  # Tesseract's mean word confidence is low


class DocumentInfo(BaseModel):
    filename: str
    media_type: str
    # What was read, as a short name: pdf, docx, pptx, xlsx, odt, epub, html, xhtml, csv, text,
    # markdown, png, jpeg, tiff, webp (results stored before formats were named have none).
    format: str | None = None
    sha256: str
    page_count: int
    title: str | None = None
    author: str | None = None
    # Pages read by OCR.
    ocr_pages: int = 0
    # Where the worker fetched the document from (a task submitted with `source_url`).
    source_url: str | None = None


class Page(BaseModel):
    number: int
    # What chunks and their spans index: plain text, one line per paragraph, table row or item.
    text: str
    # The same words with their structure: headings, lists, tables as Markdown tables, slide
    # notes. Formats without structure (PDF, text, images) carry their text here too.
    markdown: str | None = None
    # How the text was read: the document's own text layer, or OCR of the rendered page.
    method: Literal["text", "ocr"] = "text"
    # OCR pages: Tesseract's mean word confidence, 0 to 1.
    ocr_confidence: float | None = None
    # Where the page's headings and tables are (docqueue_worker.pipeline.formats.blocks.Mark),
    # for the chunker; never stored.
    _marks: tuple[object, ...] = PrivateAttr(default=())


class Chunk(BaseModel):
    """A retrieval chunk. `char_start`/`char_end` index the document text: the pages' texts joined
    by a blank line ("\\n\\n"), so `text == document_text[char_start:char_end]`."""

    index: int
    text: str
    page_start: int
    page_end: int
    char_start: int
    char_end: int
    # Tokens of `text` under the deployment's tokenizer (DOCQUEUE_TOKENIZER), whatever chunk_by
    # is (results stored before token counts existed have none).
    token_count: int | None = None
    # The headings above the chunk's start, outermost first; [] when the document has none.
    headings: list[str] = []
    # A chunk that continues a table split across chunks: that table's header row, to embed
    # before `text` (which stays exactly its span of the document text).
    table_header: str | None = None


class Result(BaseModel):
    task_id: str
    document: DocumentInfo
    pages: list[Page]
    chunks: list[Chunk]
    warnings: list[ResultWarning] = []
