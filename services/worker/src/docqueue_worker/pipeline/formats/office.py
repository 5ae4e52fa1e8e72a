"""Word, PowerPoint and Excel documents, through python-docx, python-pptx and openpyxl (read-only
mode), after the zip checks of `archive`. A DOCX page is what its explicit page breaks delimit (one
page when it has none), a PPTX page a slide, an XLSX page a sheet."""

import csv
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

import docx
import pptx
from docx.table import Table as DocxTable
from pptx.enum.shapes import PP_PLACEHOLDER
from pptx.shapes.graphfrm import GraphicFrame
from pptx.shapes.group import GroupShape

from docqueue.errors import DocumentError, ErrorCode
from docqueue.media import csv_delimiter
from docqueue_worker.pipeline.formats.archive import ArchiveLimits, open_archive
from docqueue_worker.pipeline.formats.blocks import Heading, Notes, PageBlocks, Paragraph, Table
from docqueue_worker.pipeline.pdf_checks import clean_metadata

# w:br elements of type "page" (an explicit page break) and a paragraph's list numbering.
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING_STYLE = re.compile(r"^Heading (\d)$")
# Shapes nest in groups; deeper than this is not a slide anybody made by hand.
MAX_GROUP_DEPTH = 32
_TITLES = (PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE)


@dataclass(frozen=True)
class Read:
    """What a reader found: pages of blocks, and the title and author the document states."""

    pages: list[PageBlocks]
    title: str | None = None
    author: str | None = None


@contextmanager
def library_errors(kind: str) -> Iterator[None]:
    """What the Office libraries raise on malformed parts, as our permanent codes."""
    try:
        yield
    except DocumentError:
        raise
    except (RecursionError, MemoryError) as exc:
        raise DocumentError(
            ErrorCode.DOCUMENT_TOO_COMPLEX, f"the {kind} exceeds a parsing limit: {type(exc).__name__}"
        ) from exc
    except Exception as exc:
        raise DocumentError(ErrorCode.CORRUPT_DOCUMENT, f"the {kind} cannot be read: {exc}") from exc


def read_docx(stream: BinaryIO, limits: ArchiveLimits) -> Read:
    with open_archive(stream, limits, "DOCX"), library_errors("DOCX"):
        document = docx.Document(stream)
        # Style names by id, read once: python-docx's paragraph.style scans every style per call.
        styles = {style.style_id: style.name or "" for style in document.styles}
        pages = [PageBlocks()]
        for item in document.iter_inner_content():
            if isinstance(item, DocxTable):
                pages[-1].add(Table(_docx_rows(item)))
                continue
            pages[-1].add(_docx_paragraph(item, styles))
            if item._p.findall(f"./{_W}r/{_W}br[@{_W}type='page']"):
                pages.append(PageBlocks())
        if len(pages) > 1 and not pages[-1].blocks:
            pages.pop()
        props = document.core_properties
        return Read(pages, clean_metadata(props.title), clean_metadata(props.author))


def _docx_paragraph(paragraph: Any, styles: dict[str, str]) -> Heading | Paragraph:
    properties = paragraph._p.pPr
    style_id = properties.style if properties is not None else None
    style = styles.get(style_id, "") if style_id else ""
    text = paragraph.text
    if style == "Title":
        return Heading(1, text)
    heading = _HEADING_STYLE.match(style or "")
    if heading:
        return Heading(int(heading.group(1)), text)
    numbering = paragraph._p.pPr.numPr if paragraph._p.pPr is not None else None
    if numbering is not None or (style or "").startswith("List"):
        level = numbering.ilvl.val if numbering is not None and numbering.ilvl is not None else 0
        return Paragraph(text, list_level=int(level), numbered="Number" in (style or ""))
    return Paragraph(text)


def _docx_rows(table: Any) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


def read_pptx(stream: BinaryIO, limits: ArchiveLimits, max_pages: int) -> Read:
    with open_archive(stream, limits, "PPTX"), library_errors("PPTX"):
        presentation = pptx.Presentation(stream)
        slides = list(presentation.slides)
        _check_pages("PPTX", "slides", len(slides), max_pages)
        pages = []
        for slide in slides:
            page, body = PageBlocks(), PageBlocks()
            # One pass over the shapes (slide.shapes.title would be another); the title first.
            for shape in slide.shapes:
                if shape.is_placeholder and shape.placeholder_format.type in _TITLES and shape.has_text_frame:
                    page.add(Heading(1, shape.text_frame.text))
                else:
                    _pptx_shape(shape, body, depth=0)
            page.blocks.extend(body.blocks)
            if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
                page.add(Notes(slide.notes_slide.notes_text_frame.text))
            pages.append(page)
        props = presentation.core_properties
        return Read(pages or [PageBlocks()], clean_metadata(props.title), clean_metadata(props.author))


def _pptx_shape(shape: Any, page: PageBlocks, depth: int) -> None:
    if depth > MAX_GROUP_DEPTH:
        raise DocumentError(
            ErrorCode.DOCUMENT_TOO_COMPLEX,
            f"the PPTX exceeds a parsing limit: shapes nest deeper than {MAX_GROUP_DEPTH} groups",
        )
    if shape.has_text_frame:
        for paragraph in shape.text_frame.paragraphs:
            level = paragraph.level
            page.add(Paragraph(paragraph.text, list_level=level if level > 0 else None))
    elif isinstance(shape, GroupShape):
        for child in shape.shapes:
            _pptx_shape(child, page, depth + 1)
    elif isinstance(shape, GraphicFrame) and shape.has_table:
        page.add(Table([[cell.text for cell in row.cells] for row in shape.table.rows]))


def read_xlsx(stream: BinaryIO, limits: ArchiveLimits, max_pages: int, max_cells: int) -> Read:
    # Imported here: openpyxl imports numpy when it is installed, over 100 MiB of address space
    # every pool process would carry under DOCQUEUE_MAX_MEMORY_MB for spreadsheets it never reads.
    import openpyxl

    with open_archive(stream, limits, "XLSX"), library_errors("XLSX"):
        workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
        try:
            _check_pages("XLSX", "sheets", len(workbook.worksheets), max_pages)
            cells = CellBudget(max_cells, "XLSX")
            pages = []
            for sheet in workbook.worksheets:
                page = PageBlocks()
                page.add(Heading(1, sheet.title))
                rows = sheet_rows(sheet.iter_rows(values_only=True), cells, _declared_cells(sheet))
                if rows:
                    page.add(Table(rows))
                pages.append(page)
            props = workbook.properties
            return Read(pages or [PageBlocks()], clean_metadata(props.title), clean_metadata(props.creator))
        finally:
            workbook.close()


def read_csv(text: str, max_cells: int) -> Read:
    """A CSV (or TSV) file as one page holding one table; the delimiter is the one whose rows
    line up (as the sniffer decided it was CSV)."""
    lines = text.splitlines()
    delimiter = csv_delimiter(lines[:50]) or ","
    try:
        rows = sheet_rows(csv.reader(lines, delimiter=delimiter), CellBudget(max_cells, "CSV"))
    except csv.Error as exc:
        raise DocumentError(ErrorCode.CORRUPT_DOCUMENT, f"the CSV cannot be read: {exc}") from exc
    page = PageBlocks()
    if rows:
        page.add(Table(rows))
    return Read([page])


def _declared_cells(sheet: Any) -> int:
    """The cells the sheet's <dimension> claims, checked before a single row is read."""
    try:
        return int(sheet.max_row or 0) * int(sheet.max_column or 0)
    except (TypeError, ValueError):
        return 0


class CellBudget:
    """Cells read from a spreadsheet, all sheets together: past the limit is document_too_complex."""

    def __init__(self, limit: int, kind: str) -> None:
        self.left = limit
        self.limit = limit
        self.kind = kind

    def take(self, cells: int) -> None:
        self.left -= cells
        if self.left < 0:
            raise DocumentError(
                ErrorCode.DOCUMENT_TOO_COMPLEX,
                f"the {self.kind} exceeds a parsing limit: more than {self.limit} cells "
                "(DOCQUEUE_MAX_SHEET_CELLS)",
            )


def sheet_rows(rows: Iterable[Iterable[object]], cells: CellBudget, declared: int = 0) -> list[list[str]]:
    """A sheet's rows as text, empty rows dropped and trailing empty columns trimmed."""
    if declared > cells.left:
        cells.take(declared)
    kept: list[list[str]] = []
    for row in rows:
        values = [_value(value) for value in row]
        cells.take(len(values))
        if any(values):
            kept.append(values)
    width = max((_used_width(row) for row in kept), default=0)
    return [row[:width] for row in kept]


def _used_width(row: list[str]) -> int:
    """Cells up to the row's last non-empty one (searched from the end: usually the last)."""
    width = len(row)
    while width and not row[width - 1]:
        width -= 1
    return width


def _value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_pages(kind: str, what: str, count: int, max_pages: int) -> None:
    if count > max_pages:
        raise DocumentError(
            ErrorCode.TOO_MANY_PAGES, f"the {kind} has {count} {what}; the limit is {max_pages}"
        )
