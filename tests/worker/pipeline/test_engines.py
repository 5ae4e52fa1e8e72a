"""Both PDF engines: the same pages, metadata and error codes, from every kind of stream."""

import io
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pytest

from docqueue.errors import DocumentError, ErrorCode
from docqueue.jobs.model import JobOptions, PdfEngine, Stage
from docqueue.settings import Settings
from docqueue_worker.pipeline.engines import open_source
from docqueue_worker.pipeline.pdfium import normalize_text
from docqueue_worker.pipeline.run import read_document
from tests.hostile import pdfs as hostile
from tests.support.documents import corrupt_pdf, make_pdf, page_text

ENGINES = list(PdfEngine)


def words(text: str) -> list[str]:
    return text.split()


def code_of(engine: PdfEngine, data: bytes, max_pages: int = 100) -> ErrorCode:
    with pytest.raises(DocumentError) as caught, open_source(io.BytesIO(data), engine, max_pages) as pdf:
        list(pdf.pages())
    return caught.value.code


@pytest.mark.parametrize("engine", ENGINES)
def test_pages_and_metadata(engine: PdfEngine) -> None:
    data = make_pdf(4, title="Quarterly report", author="Ada")
    with open_source(io.BytesIO(data), engine, max_pages=10) as pdf:
        assert pdf.page_count == 4
        pages = list(pdf.pages())
        assert pdf.metadata() == ("Quarterly report", "Ada")
    assert [page.number for page in pages] == [1, 2, 3, 4]
    for page in pages:
        assert words(page.text) == words(page_text(page.number))
        assert "\r" not in page.text


@pytest.mark.parametrize("engine", ENGINES)
def test_error_codes_match(engine: PdfEngine) -> None:
    assert code_of(engine, corrupt_pdf()) == ErrorCode.CORRUPT_DOCUMENT
    assert code_of(engine, make_pdf(3)[:400]) == ErrorCode.CORRUPT_DOCUMENT
    assert code_of(engine, hostile.garbage_after_header()) == ErrorCode.CORRUPT_DOCUMENT
    assert code_of(engine, hostile.circular_page_tree()) == ErrorCode.CORRUPT_DOCUMENT
    assert code_of(engine, make_pdf(2, user_password="pw")) == ErrorCode.ENCRYPTED_DOCUMENT
    assert code_of(engine, hostile.encrypted("s3cret", "x")) == ErrorCode.ENCRYPTED_DOCUMENT
    assert code_of(engine, make_pdf(5), max_pages=4) == ErrorCode.TOO_MANY_PAGES
    assert code_of(engine, hostile.zero_pages()) == ErrorCode.EMPTY_DOCUMENT


@pytest.mark.parametrize("engine", ENGINES)
def test_empty_user_password_opens(engine: PdfEngine) -> None:
    with open_source(io.BytesIO(hostile.encrypted("", "marker-7")), engine, max_pages=10) as pdf:
        assert "marker-7" in next(pdf.pages()).text


def _bytes_io(data: bytes, _: Path) -> BinaryIO:
    return io.BytesIO(data)


def _real_file(data: bytes, tmp: Path) -> BinaryIO:
    path = tmp / "doc.pdf"
    path.write_bytes(data)
    return path.open("rb")


def _spooled(max_size: int) -> Callable[[bytes, Path], BinaryIO]:
    def make(data: bytes, _: Path) -> BinaryIO:
        spooled = tempfile.SpooledTemporaryFile(max_size=max_size)  # noqa: SIM115
        spooled.write(data)
        spooled.seek(0)
        return spooled  # type: ignore[return-value]

    return make


# The blob stores hand the pipeline a real file (file://) or a spooled one, in memory or on disk
# (redis://, s3://); PDFium reads each a different way.
STREAMS = {
    "BytesIO": _bytes_io,
    "file": _real_file,
    "spooled in memory": _spooled(1 << 30),
    "spooled to disk": _spooled(16),
}


@pytest.mark.parametrize("make_stream", STREAMS.values(), ids=STREAMS.keys())
def test_pdfium_reads_every_stream_kind(
    make_stream: Callable[[bytes, Path], BinaryIO], tmp_path: Path
) -> None:
    with make_stream(make_pdf(3), tmp_path) as stream, open_source(stream, PdfEngine.PDFIUM, 10) as pdf:
        assert [words(page.text) for page in pdf.pages()] == [words(page_text(n)) for n in (1, 2, 3)]


def test_pdfium_load_error_from_a_file_keeps_its_code(tmp_path: Path) -> None:
    with (
        _real_file(make_pdf(2, user_password="pw"), tmp_path) as stream,
        pytest.raises(DocumentError) as caught,
    ):
        open_source(stream, PdfEngine.PDFIUM, 10)
    assert caught.value.code == ErrorCode.ENCRYPTED_DOCUMENT


def test_normalize_text() -> None:
    assert normalize_text("one\r\ntwo\rthree") == "one\ntwo\nthree"
    assert normalize_text("manip\ufffeulation\x00") == "manip-\nulation"


class Recorder:
    def __init__(self) -> None:
        self.stages: list[tuple[Stage, int | None]] = []
        self.pages: list[int] = []

    def stage(self, stage: Stage, pages_total: int | None = None) -> None:
        self.stages.append((stage, pages_total))

    def page_done(self, pages_done: int, method: str = "text") -> None:
        self.pages.append(pages_done)


def test_read_document_gives_the_same_shape_with_either_engine() -> None:
    data = make_pdf(3, title="T")
    results = {}
    for engine in ENGINES:
        progress = Recorder()
        pages, title, author, media_type = read_document(
            io.BytesIO(data), "doc.pdf", progress, Settings(), engine
        )
        assert progress.stages == [(Stage.EXTRACTING, 3)]
        assert progress.pages == [1, 2, 3]
        results[engine] = ([(p.number, words(p.text)) for p in pages], title, author, media_type)
    assert results[PdfEngine.PYPDF] == results[PdfEngine.PDFIUM]


def test_engine_is_part_of_the_options_and_fingerprint() -> None:
    assert JobOptions().engine == PdfEngine.PYPDF
    # pypdf jobs keep the canonical form (and dedupe keys) they had before engines existed.
    assert JobOptions().canonical() == '{"chunk_overlap":150,"chunk_size":1000}'
    assert '"engine":"pdfium"' in JobOptions(engine=PdfEngine.PDFIUM).canonical()
    assert JobOptions.model_validate({"chunk_size": 1000, "chunk_overlap": 150}).engine == PdfEngine.PYPDF
    with pytest.raises(ValueError, match="engine"):
        JobOptions.model_validate({"engine": "ghostscript"})
