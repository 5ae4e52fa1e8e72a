"""Hostile Office, web and e-book documents, built part by part: zip bombs, entity expansion,
external entities, sheets of a million rows, pages of a million nested elements, looping books."""

import functools
import io
import zipfile
from collections.abc import Iterator

from tests.support import formats
from tests.support.formats import Section

GIB = 1024**3
_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def replaced(document: bytes, parts: dict[str, bytes]) -> bytes:
    """`document` (a zip) with some of its parts replaced."""
    source = zipfile.ZipFile(io.BytesIO(document))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in source.infolist():
            archive.writestr(entry.filename, parts.get(entry.filename) or source.read(entry.filename))
    return buffer.getvalue()


def streamed(document: bytes, name: str, parts: Iterator[bytes]) -> bytes:
    """`document` (a zip) with its entry `name` replaced by `parts`, deflated as they stream."""
    source = zipfile.ZipFile(io.BytesIO(document))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in source.infolist():
            if entry.filename != name:
                archive.writestr(entry.filename, source.read(entry.filename))
                continue
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as part:
                for data in parts:
                    part.write(data)
    return buffer.getvalue()


@functools.cache
def docx_zip_bomb(unpacked_bytes: int = GIB) -> bytes:
    """A DOCX whose document.xml is `unpacked_bytes` of real XML (about 3 MB packed)."""
    paragraph = b"<w:p><w:r><w:t>bomb</w:t></w:r></w:p>"
    block = paragraph * (1024 * 1024 // len(paragraph))

    def xml() -> Iterator[bytes]:
        yield f'<?xml version="1.0"?><w:document {_W}><w:body>'.encode()
        for _ in range(unpacked_bytes // len(block) + 1):
            yield block
        yield b"</w:body></w:document>"

    return streamed(formats.make_docx(), "word/document.xml", xml())


def docx_with_document_xml(xml: str) -> bytes:
    return replaced(formats.make_docx(), {"word/document.xml": xml.encode()})


def docx_billion_laughs() -> bytes:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n > 1 else "&lol;" * 10}">' for n in range(1, 10)
    )
    return docx_with_document_xml(
        f'<?xml version="1.0"?><!DOCTYPE w:document [{entities}]>'
        f"<w:document {_W}><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"
    )


def docx_xxe(target: str = "file:///etc/passwd") -> bytes:
    return docx_with_document_xml(
        f'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY xxe SYSTEM "{target}">]>'
        f"<w:document {_W}><w:body><w:p><w:r><w:t>before &xxe; after</w:t></w:r></w:p></w:body></w:document>"
    )


def docx_many_entries(count: int = 20_000) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(formats.make_docx()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for entry in source.infolist():
            archive.writestr(entry.filename, source.read(entry.filename))
        for number in range(count):
            archive.writestr(f"word/media/x{number}.bin", b"")
    return buffer.getvalue()


@functools.cache
def xlsx_million_rows(rows: int = 1_048_576, columns: int = 3) -> bytes:
    """A sheet that says (and holds) 1 048 576 rows of three cells: Excel's maximum."""
    last_column = "ABCDEFGHIJ"[columns - 1]

    def xml() -> Iterator[bytes]:
        yield b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        yield f'<dimension ref="A1:{last_column}{rows}"/><sheetData>'.encode()
        row = b"<row>" + "".join(f'<c t="n"><v>{n}</v></c>' for n in range(columns)).encode() + b"</row>"
        for _ in range(rows // 4096):
            yield row * 4096
        yield b"</sheetData></worksheet>"

    return streamed(formats.make_xlsx({"Sheet": [["a"]]}), "xl/worksheets/sheet1.xml", xml())


def html_nested(depth: int = 1_000_000) -> bytes:
    return b"<!DOCTYPE html><html><body>" + b"<div>" * depth + b"deep" + b"</div>" * depth + b"</body></html>"


def odt_billion_laughs() -> bytes:
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(f'<!ENTITY a{n} "{"&a;" * 10}">' for n in range(1, 3))
    return formats.make_odt(
        content=f'<?xml version="1.0"?><!DOCTYPE x [{entities}]><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>'
        "<text:p>&a2;</text:p></office:text></office:body></office:document-content>"
    )


def epub_loop() -> bytes:
    """Two chapters that link to each other, and a spine that lists them 10 000 times."""
    chapters = [[Section("Loop one", ["round and round"])], [Section("Loop two", ["and back again"])]]
    return formats.make_epub(chapters, spine=[0, 1] * 5000)


def zip_named_docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a Word document")
        archive.writestr("data/table.csv", "a,b\n1,2\n")
    return buffer.getvalue()
