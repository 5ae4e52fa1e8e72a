"""What an upload really is, decided from its bytes; the client's content type and filename are
never trusted for that (a filename only picks among the text formats once the bytes are text:
Markdown over plain text, and CSV when the rows also line up)."""

import csv
import re
import struct
import zlib
from enum import StrEnum

# How much of the start of an upload the sniffer looks at.
SNIFF_BYTES = 8192
# PDF readers accept a header anywhere in the first KiB; so do we.
PDF_HEADER_WINDOW = 1024
_CONTROL_OK = {0x09, 0x0A, 0x0C, 0x0D, 0x1B}
_MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd")
_CSV_SUFFIXES = (".csv", ".tsv")
# Rows that line up: at least this many, each with the same number (>= 2) of fields.
CSV_MIN_ROWS = 2
CSV_DELIMITERS = ",;\t"


class MediaType(StrEnum):
    PDF = "application/pdf"
    TEXT = "text/plain"
    MARKDOWN = "text/markdown"
    PNG = "image/png"
    JPEG = "image/jpeg"
    TIFF = "image/tiff"
    WEBP = "image/webp"
    DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ODT = "application/vnd.oasis.opendocument.text"
    EPUB = "application/epub+zip"
    HTML = "text/html"
    XHTML = "application/xhtml+xml"
    CSV = "text/csv"


# `document.format` in a result: the short name of what was read.
FORMATS: dict[MediaType, str] = {
    MediaType.PDF: "pdf",
    MediaType.TEXT: "text",
    MediaType.MARKDOWN: "markdown",
    MediaType.PNG: "png",
    MediaType.JPEG: "jpeg",
    MediaType.TIFF: "tiff",
    MediaType.WEBP: "webp",
    MediaType.DOCX: "docx",
    MediaType.PPTX: "pptx",
    MediaType.XLSX: "xlsx",
    MediaType.ODT: "odt",
    MediaType.EPUB: "epub",
    MediaType.HTML: "html",
    MediaType.XHTML: "xhtml",
    MediaType.CSV: "csv",
}
# Zip containers: a part name under this folder says which OOXML format it is.
_OOXML_FOLDERS = {"word/": MediaType.DOCX, "ppt/": MediaType.PPTX, "xl/": MediaType.XLSX}
# ODF and EPUB begin with an uncompressed `mimetype` entry that names the format.
_ZIP_MIMETYPES = {
    b"application/vnd.oasis.opendocument.text": MediaType.ODT,
    b"application/epub+zip": MediaType.EPUB,
}
# [Content_Types].xml names the main part's type.
_OOXML_MAIN_PARTS = {
    b"wordprocessingml.document.main+xml": MediaType.DOCX,
    b"presentationml.presentation.main+xml": MediaType.PPTX,
    b"spreadsheetml.sheet.main+xml": MediaType.XLSX,
}
_ZIP_LOCAL_HEADER = b"PK\x03\x04"
_ZIP_HEADER = struct.Struct("<4s5H3L2H")
_HTML_START = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)[\s>]", re.I | re.S
)
_XHTML = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*\?>.*?<html[^>]+xmlns=[\"']http://www\.w3\.org/1999/xhtml",
    re.I | re.S,
)


# Images are documents too: each frame a page, read by OCR.
IMAGE_TYPES = frozenset({MediaType.PNG, MediaType.JPEG, MediaType.TIFF, MediaType.WEBP})
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", MediaType.PNG),
    (b"\xff\xd8\xff", MediaType.JPEG),
    (b"II*\x00", MediaType.TIFF),
    (b"MM\x00*", MediaType.TIFF),
)


def sniff(head: bytes, filename: str = "") -> MediaType | None:
    """The media type of an upload from its first bytes, or None if docqueue cannot read it."""
    if b"%PDF-" in head[:PDF_HEADER_WINDOW]:
        return MediaType.PDF
    for magic, media_type in _IMAGE_MAGIC:
        if head.startswith(magic):
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MediaType.WEBP
    if head.startswith(_ZIP_LOCAL_HEADER):
        return sniff_zip(head)
    if not looks_like_text(head):
        return None
    if _XHTML.match(head):
        return MediaType.XHTML
    if _HTML_START.match(head):
        return MediaType.HTML
    name = filename.lower()
    if name.endswith(_MARKDOWN_SUFFIXES):
        return MediaType.MARKDOWN
    if name.endswith(_CSV_SUFFIXES) and looks_like_csv(head):
        return MediaType.CSV
    return MediaType.TEXT


def sniff_zip(head: bytes) -> MediaType | None:
    """Which zip-based document format, from the entries whose local headers are in `head`: the
    main part's content type in OOXML's [Content_Types].xml (its first entry), else a part under
    word/, ppt/ or xl/ (Word may put a large thumbnail first); ODF's and EPUB's first entry,
    `mimetype`. A zip that is none of them is not a document."""
    entries = _zip_entries(head)
    if entries and entries[0][0] == "mimetype":
        return _ZIP_MIMETYPES.get(entries[0][2].strip()) if entries[0][1] == 0 else None
    for name, method, data in entries:
        if name == "[Content_Types].xml":
            types = _inflated(data) if method == 8 else data
            for main, media_type in _OOXML_MAIN_PARTS.items():
                if main in types:
                    return media_type
    for name, _, _ in entries:
        for folder, media_type in _OOXML_FOLDERS.items():
            if name.startswith(folder):
                return media_type
    return None


def _zip_entries(head: bytes) -> list[tuple[str, int, bytes]]:
    """(name, compression method, its data as far as `head` holds it) of each local file header
    found in `head`."""
    found = []
    for match in re.finditer(re.escape(_ZIP_LOCAL_HEADER), head):
        start = match.start()
        if start + _ZIP_HEADER.size > len(head):
            break
        fields = _ZIP_HEADER.unpack_from(head, start)
        method, compressed, name_length, extra_length = fields[3], fields[7], fields[9], fields[10]
        name_start = start + _ZIP_HEADER.size
        name = head[name_start : name_start + name_length].decode("utf-8", "replace")
        data_start = name_start + name_length + extra_length
        found.append((name, method, head[data_start : data_start + compressed]))
    return found


def _inflated(data: bytes) -> bytes:
    """Raw deflate data, as much as a partial stream gives (never more than SNIFF_BYTES x 8)."""
    try:
        return zlib.decompressobj(-15).decompress(data, SNIFF_BYTES * 8)
    except zlib.error:
        return b""


def looks_like_csv(head: bytes) -> bool:
    """Rows that line up under one delimiter (a cut last line in a full sniff window ignored)."""
    lines = head.decode("utf-8", "replace").splitlines()
    if len(head) >= SNIFF_BYTES and lines:
        lines = lines[:-1]
    return csv_delimiter(lines) is not None


def csv_delimiter(lines: list[str]) -> str | None:
    """The delimiter under which at least CSV_MIN_ROWS rows all have one width of two or more."""
    for delimiter in CSV_DELIMITERS:
        rows = [row for row in csv.reader(lines, delimiter=delimiter) if row]
        widths = {len(row) for row in rows}
        if len(rows) >= CSV_MIN_ROWS and len(widths) == 1 and widths.pop() >= 2:
            return delimiter
    return None


def looks_like_text(head: bytes) -> bool:
    """UTF-8 (a multi-byte character may be cut at the end) without NULs or binary control bytes."""
    if not head or b"\x00" in head:
        return False
    for cut in range(4):
        try:
            text = head[: len(head) - cut].decode("utf-8")
            break
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:
                return False
    else:
        return False
    controls = sum(1 for ch in text if ord(ch) < 0x20 and ord(ch) not in _CONTROL_OK)
    return controls * 100 <= len(text)
