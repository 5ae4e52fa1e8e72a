"""A hostile PDF corpus, generated: every file is built here from bytes, none is downloaded.

`RawPdf` writes objects and a classic xref table by hand, so a test can put anything anywhere
(a `/Prev` that points at itself, a page tree that contains itself, a stream whose filters nest).
"""

import io
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.support.documents import make_pdf

MIB = 1024 * 1024


@dataclass
class RawPdf:
    """Objects numbered from 1; `build()` lays them out with a correct xref unless told otherwise."""

    objects: list[bytes] = field(default_factory=list)

    def add(self, body: bytes) -> int:
        self.objects.append(body)
        return len(self.objects)

    def set(self, number: int, body: bytes) -> None:
        self.objects[number - 1] = body

    def reserve(self) -> int:
        return self.add(b"null")

    def build(self, root: int, *, trailer_extra: bytes = b"", prev_self: bool = False) -> bytes:
        out = io.BytesIO()
        out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number, body in enumerate(self.objects, start=1):
            offsets.append(out.tell())
            out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
        xref_at = out.tell()
        out.write(b"xref\n0 %d\n" % (len(self.objects) + 1))
        out.write(b"0000000000 65535 f \n")
        for offset in offsets:
            out.write(b"%010d 00000 n \n" % offset)
        prev = b" /Prev %d" % xref_at if prev_self else b""
        out.write(
            b"trailer\n<< /Size %d /Root %d 0 R%s%s >>\n" % (len(self.objects) + 1, root, prev, trailer_extra)
        )
        out.write(b"startxref\n%d\n%%%%EOF\n" % xref_at)
        return out.getvalue()


def stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def text_content(text: str) -> bytes:
    return b"BT /F1 12 Tf 72 720 Td (" + text.encode("latin-1") + b") Tj ET"


def simple_document(contents: list[bytes], *, catalog_extra: bytes = b"") -> tuple[RawPdf, int]:
    """One page per content stream (each an already-built stream object body)."""
    pdf = RawPdf()
    catalog = pdf.reserve()
    pages = pdf.reserve()
    font = pdf.add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    kids = []
    for content in contents:
        content_ref = pdf.add(content)
        kids.append(
            pdf.add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792]"
                b" /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (pages, font, content_ref)
            )
        )
    refs = b" ".join(b"%d 0 R" % kid for kid in kids)
    pdf.set(pages, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (refs, len(kids)))
    pdf.set(catalog, b"<< /Type /Catalog /Pages %d 0 R %s >>" % (pages, catalog_extra))
    return pdf, catalog


def normal(marker: str) -> bytes:
    pdf, root = simple_document([stream(text_content(f"Hello {marker}"))])
    return pdf.build(root)


def _deflate_zeros(size_bytes: int) -> bytes:
    """`size_bytes` zero bytes, deflated without ever holding them."""
    compressor = zlib.compressobj(9)
    block = bytes(MIB)
    parts = [compressor.compress(block) for _ in range(size_bytes // MIB)]
    parts.append(compressor.flush())
    return b"".join(parts)


def flate_bomb(inflated_bytes: int = 256 * MIB, layers: int = 3) -> bytes:
    """A page whose content nests `layers` FlateDecode filters around 256 MiB of zeros.

    pypdf stops inflating at 75 MB."""
    data = _deflate_zeros(inflated_bytes)
    for _ in range(layers - 1):
        data = zlib.compress(data, 9)
    filters = b"[" + b" ".join([b"/FlateDecode"] * layers) + b"]"
    pdf, root = simple_document([stream(data, b"/Filter " + filters)])
    return pdf.build(root)


def circular_prev() -> bytes:
    """The trailer's /Prev points back at its own xref section."""
    pdf, root = simple_document([stream(text_content("circular prev"))])
    return pdf.build(root, prev_self=True)


def circular_page_tree() -> bytes:
    """A /Pages node whose /Kids contains itself (and a page whose /Parent loops)."""
    pdf = RawPdf()
    catalog = pdf.reserve()
    pages = pdf.reserve()
    pdf.set(pages, b"<< /Type /Pages /Kids [%d 0 R %d 0 R] /Count 2 >>" % (pages, pages))
    pdf.set(catalog, b"<< /Type /Catalog /Pages %d 0 R >>" % pages)
    return pdf.build(catalog)


def circular_objects() -> bytes:
    """Objects that only refer to each other: a stream whose /Length is a chain back to itself."""
    pdf = RawPdf()
    catalog = pdf.reserve()
    pages = pdf.reserve()
    content = pdf.reserve()
    length_a = pdf.reserve()
    length_b = pdf.reserve()
    page = pdf.add(
        b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R >>" % (pages, content)
    )
    data = text_content("loop")
    pdf.set(content, b"<< /Length %d 0 R >>\nstream\n" % length_a + data + b"\nendstream")
    pdf.set(length_a, b"%d 0 R" % length_b)
    pdf.set(length_b, b"%d 0 R" % length_a)
    pdf.set(pages, b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % page)
    pdf.set(catalog, b"<< /Type /Catalog /Pages %d 0 R /Self %d 0 R >>" % (pages, catalog))
    return pdf.build(catalog)


def deep_arrays(depth: int = 100_000) -> bytes:
    """A content stream of `depth` nested arrays."""
    data = b"[" * depth + b"]" * depth + b" pop " + text_content("deep arrays")
    pdf, root = simple_document([stream(data)])
    return pdf.build(root)


def deep_dictionaries(depth: int = 50_000) -> bytes:
    """A page whose /Resources nest `depth` dictionaries inside one another."""
    nested = b"<< /A " * depth + b"1" + b" >>" * depth
    pdf = RawPdf()
    catalog = pdf.reserve()
    pages = pdf.reserve()
    content = pdf.add(stream(text_content("deep dicts")))
    page = pdf.add(
        b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Resources << /ExtGState %s >>"
        b" /Contents %d 0 R >>" % (pages, nested, content)
    )
    pdf.set(pages, b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % page)
    pdf.set(catalog, b"<< /Type /Catalog /Pages %d 0 R >>" % pages)
    return pdf.build(catalog)


def huge_content_stream(inflated_bytes: int = 60 * MIB) -> bytes:
    """One page whose (deflated) content stream draws the same text operator millions of times."""
    operator = b"BT /F1 1 Tf 1 1 Td (x) Tj ET\n"
    compressor = zlib.compressobj(9)
    block = operator * (MIB // len(operator))
    parts = [compressor.compress(block) for _ in range(inflated_bytes // len(block))]
    parts.append(compressor.flush())
    pdf, root = simple_document([stream(b"".join(parts), b"/Filter /FlateDecode")])
    return pdf.build(root)


def many_pages(pages: int) -> bytes:
    """`pages` pages sharing one tiny content stream: small bytes, long page tree."""
    pdf = RawPdf()
    catalog = pdf.reserve()
    tree = pdf.reserve()
    content = pdf.add(stream(text_content("page")))
    kids = [
        pdf.add(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R >>" % (tree, content)
        )
        for _ in range(pages)
    ]
    refs = b" ".join(b"%d 0 R" % kid for kid in kids)
    pdf.set(tree, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (refs, pages))
    pdf.set(catalog, b"<< /Type /Catalog /Pages %d 0 R >>" % tree)
    return pdf.build(catalog)


def zero_pages() -> bytes:
    pdf = RawPdf()
    catalog = pdf.reserve()
    tree = pdf.add(b"<< /Type /Pages /Kids [] /Count 0 >>")
    pdf.set(catalog, b"<< /Type /Catalog /Pages %d 0 R >>" % tree)
    return pdf.build(catalog)


def encrypted(user_password: str, marker: str) -> bytes:
    return make_pdf(1, lambda _: f"Encrypted {marker}", user_password=user_password)


def truncated(marker: str) -> bytes:
    whole = make_pdf(3, lambda n: f"Truncated {marker} {n}")
    return whole[: len(whole) // 2]


def garbage_after_header() -> bytes:
    return b"%PDF-" + bytes((i * 37 + 11) % 256 for i in range(64 * 1024))


def javascript_and_attachment(marker: str, attachment_marker: str) -> bytes:
    """Text, an /OpenAction JavaScript and an embedded file; only the text is for us."""
    pdf, root = simple_document([stream(text_content(f"Visible {marker}"))])
    js = pdf.add(b"<< /S /JavaScript /JS (app.alert\\('pwned'\\);) >>")
    attached = pdf.add(stream(f"attached {attachment_marker}".encode(), b"/Type /EmbeddedFile"))
    spec = pdf.add(b"<< /Type /Filespec /F (evil.exe) /EF << /F %d 0 R >> >>" % attached)
    names = b"<< /EmbeddedFiles << /Names [(evil.exe) %d 0 R] >> >>" % spec
    catalog = pdf.objects[root - 1]
    pdf.set(root, catalog[:-2] + b" /OpenAction %d 0 R /Names %s >>" % (js, names))
    return pdf.build(root)


Builder = Callable[[], bytes]


def looping_outline(marker: str) -> bytes:
    """A bookmark that is its own next sibling and its own first child, on a page of text."""
    # Objects: 1 catalog, 2 pages, 3 font, 4 content, 5 page; then 6 outline root, 7 the bookmark.
    pdf, catalog = simple_document([stream(text_content(marker))], catalog_extra=b"/Outlines 6 0 R")
    pdf.add(b"<< /Type /Outlines /First 7 0 R /Last 7 0 R /Count 1 >>")
    pdf.add(
        b"<< /Title (%s) /Parent 6 0 R /Next 7 0 R /First 7 0 R /Last 7 0 R /Count 1 /Dest [5 0 R /Fit] >>"
        % marker.encode()
    )
    return pdf.build(catalog)
