"""Sniffing decides from bytes, never from names or declared types."""

import io
import random
import zipfile

from docqueue.media import SNIFF_BYTES, MediaType, sniff
from tests.support import formats
from tests.support.documents import make_pdf


def test_pdf_is_recognised_whatever_the_name() -> None:
    assert sniff(make_pdf(1)[:8192], "x.txt") == MediaType.PDF
    assert sniff(b"junk before\n%PDF-1.7\n", "") == MediaType.PDF


def test_text_and_markdown() -> None:
    assert sniff(b"hello world\n", "notes") == MediaType.TEXT
    assert sniff("# Título\n".encode(), "README.MD") == MediaType.MARKDOWN
    # A multi-byte character cut at the sniff window is still text.
    assert sniff("é".encode() * 10 + "é".encode()[:1], "") == MediaType.TEXT


def test_binary_is_refused() -> None:
    assert sniff(b"GIF89a\x00\x00", "image.pdf") is None


def test_images_are_sniffed_by_their_bytes_not_their_names() -> None:
    assert sniff(b"\x89PNG\r\n\x1a\n\x00\x00", "image.pdf") == MediaType.PNG
    assert sniff(b"\xff\xd8\xff\xe0\x00\x10JFIF", "scan.txt") == MediaType.JPEG
    assert sniff(b"II*\x00\x08\x00", "x") == MediaType.TIFF
    assert sniff(b"MM\x00*\x00\x08", "x") == MediaType.TIFF
    assert sniff(b"RIFF\x10\x00\x00\x00WEBPVP8 ", "x") == MediaType.WEBP
    assert sniff(b"RIFF\x10\x00\x00\x00WAVEfmt ", "x") is None
    assert sniff(b"PK\x03\x04" + bytes(100), "doc.docx") is None
    assert sniff(b"\xff\xfe\xfd" * 10, "x.txt") is None
    assert sniff(b"", "empty.txt") is None


def test_office_web_and_ebook_formats_are_sniffed_by_their_bytes_not_their_names() -> None:
    made = {
        MediaType.DOCX: formats.make_docx(),
        MediaType.PPTX: formats.make_pptx(),
        MediaType.XLSX: formats.make_xlsx({"Sheet": [["a", 1]]}),
        MediaType.ODT: formats.make_odt(),
        MediaType.EPUB: formats.make_epub([formats.OUTLINE]),
        MediaType.HTML: formats.make_html(),
    }
    for media_type, data in made.items():
        assert sniff(data[:SNIFF_BYTES], "upload.pdf") == media_type, media_type
    xhtml = b'<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><body>x</body></html>'
    assert sniff(xhtml, "page.txt") == MediaType.XHTML
    assert sniff(b"<!-- generated -->\n<HTML><body>x", "") == MediaType.HTML
    # HTML inside Markdown or prose is not an HTML page.
    assert sniff(b"# Notes\n<div>inline</div>\n", "notes.md") == MediaType.MARKDOWN


def test_an_ooxml_file_whose_first_entries_are_a_large_thumbnail_is_still_recognised() -> None:
    # As Word writes some files: [Content_Types].xml, then an image, then the word/ parts.
    for media_type, data in ((MediaType.DOCX, formats.make_docx()), (MediaType.PPTX, formats.make_pptx())):
        source = zipfile.ZipFile(io.BytesIO(data))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("[Content_Types].xml", source.read("[Content_Types].xml"))
            archive.writestr(zipfile.ZipInfo("docProps/thumbnail.jpeg"), random.randbytes(20_000))
            for name in source.namelist():
                if name not in ("[Content_Types].xml", "docProps/thumbnail.jpeg"):
                    archive.writestr(name, source.read(name))
        assert sniff(buffer.getvalue()[:SNIFF_BYTES], "upload") == media_type


def test_a_zip_that_is_no_document_format_is_refused_whatever_its_name() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("notes/readme.txt", "hello")
    assert sniff(buffer.getvalue(), "x.docx") is None
    odp = io.BytesIO()
    with zipfile.ZipFile(odp, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.presentation")
    assert sniff(odp.getvalue(), "x.odt") is None


def test_csv_needs_rows_that_line_up_and_a_csv_name() -> None:
    table = formats.make_csv([["name", "age"], ["Ann", "3"], ["Bob", "4"]])
    assert sniff(table, "people.csv") == MediaType.CSV
    assert sniff(table.replace(b",", b"\t"), "people.tsv") == MediaType.CSV
    assert sniff(table.replace(b",", b";"), "people.csv") == MediaType.CSV
    # The same bytes under a text name stay text; prose under a CSV name stays text.
    assert sniff(table, "people.txt") == MediaType.TEXT
    assert sniff(b"Hello, world.\nThis line has no comma\n", "prose.csv") == MediaType.TEXT
