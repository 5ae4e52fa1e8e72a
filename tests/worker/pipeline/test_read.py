"""Opening uploads: permanent errors carry the right codes."""

import io

import pytest

from docqueue.errors import DocumentError, ErrorCode
from docqueue_worker.pipeline.read import decode_text, open_pdf, text_pages
from tests.support.documents import corrupt_pdf, make_pdf


def code_of(data: bytes, max_pages: int = 100) -> ErrorCode:
    with pytest.raises(DocumentError) as caught:
        open_pdf(io.BytesIO(data), max_pages)
    return caught.value.code


def test_pdf_errors_have_codes() -> None:
    assert code_of(corrupt_pdf()) == ErrorCode.CORRUPT_DOCUMENT
    assert code_of(make_pdf(2, user_password="pw")) == ErrorCode.ENCRYPTED_DOCUMENT
    assert code_of(make_pdf(5), max_pages=4) == ErrorCode.TOO_MANY_PAGES
    assert code_of(make_pdf(3)[:400]) == ErrorCode.CORRUPT_DOCUMENT


def test_readable_pdf_opens() -> None:
    assert len(open_pdf(io.BytesIO(make_pdf(3)), max_pages=3).pages) == 3


def test_text_must_be_utf8_and_not_empty() -> None:
    assert decode_text("héllo".encode()) == "héllo"
    assert decode_text(b"\xef\xbb\xbfbom") == "bom"
    with pytest.raises(DocumentError) as empty:
        decode_text(b"  \n")
    assert empty.value.code == ErrorCode.EMPTY_DOCUMENT
    with pytest.raises(DocumentError) as latin:
        decode_text(b"ok " * 10 + b"\xff\xfe")
    assert latin.value.code == ErrorCode.UNSUPPORTED_TYPE


def test_form_feeds_split_text_pages() -> None:
    assert [p.number for p in text_pages("a\fb\fc")] == [1, 2, 3]
    assert text_pages("one page")[0].text == "one page"
