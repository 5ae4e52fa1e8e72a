"""Office, web and e-book documents written by the tests (python-docx, python-pptx, openpyxl, and
HTML, EPUB and ODT by hand), all from one outline, so every reader is checked against the same words."""

import csv
import io
import zipfile
from dataclasses import dataclass, field
from html import escape

import docx
import openpyxl
import pptx
from pptx.util import Inches

from tests.support.documents import page_text


@dataclass(frozen=True)
class Section:
    heading: str
    paragraphs: list[str]
    items: list[str] = field(default_factory=list)
    table: list[list[str]] = field(default_factory=list)


TITLE = "Quarterly operations review"
OUTLINE = [
    Section(
        "Introduction",
        [page_text(1, 60), page_text(2, 40)],
        items=["first queued item", "second retried item"],
        table=[["Region", "Documents", "Pages"], ["North", "1200", "35000"], ["South", "800", "21000"]],
    ),
    Section("Results", [page_text(3, 80)], items=["chunks stored safely"]),
    Section("Outlook", [page_text(4, 50)], table=[["Quarter", "Target"], ["Q1", "more workers"]]),
]


def outline_words(outline: list[Section] = OUTLINE) -> str:
    """Every word the builders write (the title aside)."""
    parts: list[str] = []
    for section in outline:
        parts += [section.heading, *section.paragraphs, *section.items]
        parts += [cell for row in section.table for cell in row]
    return " ".join(parts)


def make_docx(outline: list[Section] = OUTLINE, *, page_breaks: bool = True) -> bytes:
    """One heading per section; a page break before each section after the first."""
    document = docx.Document()
    document.core_properties.title = TITLE
    document.core_properties.author = "docqueue tests"
    for number, section in enumerate(outline):
        if number and page_breaks:
            document.add_page_break()  # type: ignore[no-untyped-call]
        document.add_heading(section.heading, level=1)
        for paragraph in section.paragraphs:
            document.add_paragraph(paragraph)
        for item in section.items:
            document.add_paragraph(item, style="List Bullet")
        if section.table:
            table = document.add_table(rows=len(section.table), cols=len(section.table[0]))
            for r, row in enumerate(section.table):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
    return _saved(document)


def make_pptx(outline: list[Section] = OUTLINE) -> bytes:
    """One slide per section: its heading as the title, paragraphs and items in the body, the
    table as a table shape, and speaker notes."""
    presentation = pptx.Presentation()
    presentation.core_properties.title = TITLE
    for section in outline:
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = section.heading
        body = slide.placeholders[1].text_frame
        lines = [*section.paragraphs, *section.items]
        body.text = lines[0]
        for line in lines[1:]:
            body.add_paragraph().text = line
        if section.table:
            shape = slide.shapes.add_table(
                len(section.table), len(section.table[0]), Inches(1), Inches(4), Inches(6), Inches(2)
            )
            for r, row in enumerate(section.table):
                for c, cell in enumerate(row):
                    shape.table.cell(r, c).text = cell
        slide.notes_slide.notes_text_frame.text = f"Speaker notes for {section.heading}"
    return _saved(presentation)


def make_xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.worksheets[0])
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    return _saved(workbook)


def html_body(outline: list[Section] = OUTLINE) -> str:
    parts = []
    for section in outline:
        parts.append(f"<section><h2>{escape(section.heading)}</h2>")
        parts += [f"<p>{escape(paragraph)}</p>" for paragraph in section.paragraphs]
        if section.items:
            parts.append("<ul>" + "".join(f"<li>{escape(item)}</li>" for item in section.items) + "</ul>")
        if section.table:
            head, *rows = section.table
            header = "".join(f"<th>{escape(cell)}</th>" for cell in head)
            body = "".join(
                "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
            )
            parts.append(f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>")
        parts.append("</section>")
    return "\n".join(parts)


# What a page also holds that nobody sees: none of it may reach a result.
HIDDEN_TEXT = ["scriptword", "styleword", "templateword", "hiddenword", "noscriptword"]


def make_html(outline: list[Section] = OUTLINE) -> bytes:
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(TITLE)}</title><style>.scriptword {{ color: red }} /* styleword */</style>"
        "<script>var scriptword = 1;</script></head><body>"
        f"<h1>{escape(TITLE)}</h1>{html_body(outline)}"
        "<template><p>templateword</p></template><div hidden>hiddenword</div>"
        '<p style="display: none">hiddenword</p><noscript>noscriptword</noscript>'
        "</body></html>"
    ).encode()


def make_epub(chapters: list[list[Section]], *, spine: list[int] | None = None) -> bytes:
    """An EPUB 3 with one XHTML file per chapter; `spine` orders them (repeats allowed)."""
    order = spine if spine is not None else list(range(len(chapters)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        archive.writestr(
            "META-INF/container.xml",
            '<?xml version="1.0"?>'
            '<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
            '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
            "</rootfiles></container>",
        )
        manifest = "".join(
            f'<item id="c{n}" href="chapter%20{n}.xhtml" media-type="application/xhtml+xml"/>'
            for n in range(len(chapters))
        )
        itemrefs = "".join(f'<itemref idref="c{n}"/>' for n in order)
        archive.writestr(
            "OEBPS/content.opf",
            '<?xml version="1.0"?>'
            '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
            '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<dc:title>{escape(TITLE)}</dc:title><dc:creator>docqueue tests</dc:creator></metadata>"
            f"<manifest>{manifest}</manifest><spine>{itemrefs}</spine></package>",
        )
        for n, chapter in enumerate(chapters):
            links = "".join(f'<a href="chapter%20{m}.xhtml">next</a>' for m in range(len(chapters)) if m != n)
            archive.writestr(
                f"OEBPS/chapter {n}.xhtml",
                '<?xml version="1.0" encoding="utf-8"?><!DOCTYPE html>'
                '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>c</title></head>'
                f"<body>{html_body(chapter)}<nav hidden>{links}</nav></body></html>",
            )
    return buffer.getvalue()


_ODT_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/"'
)


def make_odt(outline: list[Section] = OUTLINE, *, content: str | None = None) -> bytes:
    """An ODF text document; `content` replaces content.xml (for the hostile cases)."""
    body = []
    for section in outline:
        body.append(f'<text:h text:outline-level="1">{escape(section.heading)}</text:h>')
        body += [f"<text:p>{escape(paragraph)}</text:p>" for paragraph in section.paragraphs]
        if section.items:
            body.append(
                "<text:list>"
                + "".join(
                    f"<text:list-item><text:p>{escape(item)}</text:p></text:list-item>"
                    for item in section.items
                )
                + "</text:list>"
            )
        if section.table:
            body.append(
                "<table:table>"
                + "".join(
                    "<table:table-row>"
                    + "".join(
                        f"<table:table-cell><text:p>{escape(cell)}</text:p></table:table-cell>"
                        for cell in row
                    )
                    + "</table:table-row>"
                    for row in section.table
                )
                + "</table:table>"
            )
    xml = content or (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODT_NS}>'
        f"<office:body><office:text>{''.join(body)}</office:text></office:body></office:document-content>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", xml)
        archive.writestr(
            "meta.xml",
            f'<?xml version="1.0"?><office:document-meta {_ODT_NS}><office:meta>'
            f"<dc:title>{escape(TITLE)}</dc:title></office:meta></office:document-meta>",
        )
    return buffer.getvalue()


def make_csv(rows: list[list[str]], delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


def _saved(document: object) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)  # type: ignore[attr-defined]
    return buffer.getvalue()
