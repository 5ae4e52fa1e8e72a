"""Sniffing decides from bytes, never from names or declared types."""

from docqueue.media import MediaType, sniff
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
