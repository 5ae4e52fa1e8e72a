"""Chunks the way embedders need: token budgets under the shipped tokenizer, sections never
crossed, tables kept whole, and every chunk naming the headings above it."""

import io
import itertools

import pytest
from fpdf import FPDF

from docqueue.jobs.model import PdfEngine, Tokenizer
from docqueue.results import Chunk, Page
from docqueue.settings import Settings
from docqueue_worker.pipeline import tokens
from docqueue_worker.pipeline.chunk import chunk_pages, document_text
from docqueue_worker.pipeline.formats.blocks import Heading, Paragraph, Table, render
from docqueue_worker.pipeline.outline import with_outline
from docqueue_worker.pipeline.run import normalized, read_document, with_markdown_headings
from tests.support import formats
from tests.support.documents import page_text
from tests.worker.pipeline.test_formats import Recorded

TOKENIZER = tokens.encoding(Tokenizer.CL100K_BASE)


def check_spans(pages: list[Page], chunks: list[Chunk]) -> None:
    text, _ = document_text(pages)
    for chunk in chunks:
        assert text[chunk.char_start : chunk.char_end] == chunk.text
        assert chunk.token_count == tokens.count(TOKENIZER, chunk.text)


@pytest.mark.parametrize(("size", "overlap"), [(64, 0), (100, 20), (512, 64)])
def test_every_chunk_fits_the_token_budget(size: int, overlap: int) -> None:
    # Mixed prose, numbers, punctuation and non-Latin text tokenize unevenly.
    pages = [
        Page(number=n, text=page_text(n, 300) + " 1234567 Größe — 東京 naïve café. ") for n in range(1, 6)
    ]
    chunks = chunk_pages(pages, size, overlap, tokenizer=TOKENIZER, by_tokens=True)
    check_spans(pages, chunks)
    assert all(1 <= (chunk.token_count or 0) <= size for chunk in chunks)
    # Close to the budget, not far below it: the unit really is tokens.
    assert max(chunk.token_count or 0 for chunk in chunks) >= size * 0.75
    for previous, current in itertools.pairwise(chunks):
        assert current.char_start > previous.char_start
        if overlap:
            assert current.char_start < previous.char_end


def test_character_chunks_also_carry_their_token_count_and_no_headings_without_structure() -> None:
    pages = [Page(number=1, text=page_text(1, 400))]
    chunks = chunk_pages(pages, 300, 30, tokenizer=TOKENIZER)
    check_spans(pages, chunks)
    assert all(len(chunk.text) <= 300 and chunk.headings == [] for chunk in chunks)


def structured(*blocks: Heading | Paragraph | Table) -> list[Page]:
    return normalized([render(1, list(blocks))])


def test_a_chunk_never_spans_two_top_level_sections_and_names_its_headings() -> None:
    pages = structured(
        Heading(1, "Alpha"),
        Paragraph("alpha words " * 10),
        Heading(2, "Alpha detail"),
        Paragraph("detail words " * 60),
        Heading(1, "Beta"),
        Paragraph("beta words " * 10),
    )
    chunks = chunk_pages(pages, 300, 50, tokenizer=TOKENIZER)
    check_spans(pages, chunks)
    for chunk in chunks:
        assert not ("alpha" in chunk.text.lower() and "beta" in chunk.text.lower()), chunk.text
    assert chunks[0].headings == ["Alpha"]
    assert any(chunk.headings == ["Alpha", "Alpha detail"] for chunk in chunks)
    assert chunks[-1].headings == ["Beta"]
    assert chunks[-1].text.startswith("Beta")


def test_a_table_that_fits_is_never_split_and_a_larger_one_splits_between_rows() -> None:
    small = [["Region", "Sales"], *[[f"region{n}", str(n * 100)] for n in range(8)]]
    big = [["Key", "Value"], *[[f"key{n}", "value " * 5] for n in range(60)]]
    pages = structured(
        Heading(1, "Report"),
        Paragraph("lead words " * 25),
        Table(small),
        Paragraph("middle words " * 5),
        Table(big),
    )
    chunks = chunk_pages(pages, 300, 60, tokenizer=TOKENIZER)
    check_spans(pages, chunks)
    table_text = "\n".join("\t".join(row) for row in small)
    holding = [chunk for chunk in chunks if "region0" in chunk.text]
    assert any(table_text in chunk.text for chunk in holding), [chunk.text for chunk in holding]
    for chunk in chunks:
        if "region" in chunk.text:
            assert table_text in chunk.text, "the small table was cut"
    big_rows = [chunk for chunk in chunks if "key" in chunk.text]
    assert len(big_rows) > 1
    for chunk in big_rows:
        # Cut between rows: a chunk ends at a row's end, or at the document's.
        assert chunk.text.endswith("value")
    # Every chunk that continues the big table carries its header row; the others none.
    continued = [chunk for chunk in big_rows if "Key\tValue" not in chunk.text]
    assert len(continued) >= 5
    assert all(chunk.table_header == "Key\tValue" for chunk in continued)
    assert all(chunk.table_header is None for chunk in chunks if chunk not in continued)


def test_token_chunks_of_a_real_docx_through_the_reader() -> None:
    pages, _, _, _ = read_document(io.BytesIO(formats.make_docx()), "r.docx", Recorded(), Settings())
    chunks = chunk_pages(normalized(pages), 60, 10, tokenizer=TOKENIZER, by_tokens=True)
    check_spans(normalized(pages), chunks)
    assert {chunk.headings[0] for chunk in chunks} == {section.heading for section in formats.OUTLINE}
    assert all(1 <= (chunk.token_count or 0) <= 60 for chunk in chunks)


def test_a_markdown_uploads_headings_name_its_chunks_and_bound_its_sections() -> None:
    source = (
        "# Guide\n\nintro words " + "here " * 40 + "\n\n## Install\n\n" + "install words " * 30
        + "\n\n```\n# not a heading\n```\n\n# Reference\n\nreference words\n"
    )  # fmt: skip
    pages = [with_markdown_headings(page) for page in normalized([Page(number=1, text=source)])]
    chunks = chunk_pages(pages, 200, 20, tokenizer=TOKENIZER)
    check_spans(pages, chunks)
    assert chunks[0].headings == ["Guide"]
    assert any(chunk.headings == ["Guide", "Install"] for chunk in chunks)
    assert chunks[-1].headings == ["Reference"]
    assert chunks[-1].text.startswith("# Reference")
    assert all("not a heading" not in heading for chunk in chunks for heading in chunk.headings)


def outlined_pdf() -> bytes:
    """Three chapters of two sections each, every heading both a bookmark and a line of text."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for chapter in range(1, 4):
        pdf.add_page()
        pdf.start_section(f"Chapter {chapter}", level=0)
        pdf.cell(text=f"Chapter {chapter}", new_x="LMARGIN", new_y="NEXT")
        for section in range(1, 3):
            pdf.start_section(f"Part {chapter}.{section}", level=1)
            pdf.cell(text=f"Part {chapter}.{section}", new_x="LMARGIN", new_y="NEXT")
            pdf.multi_cell(0, 5, page_text(chapter * 10 + section, 80))
    return bytes(pdf.output())


@pytest.mark.parametrize("engine", [PdfEngine.PYPDF, PdfEngine.PDFIUM])
def test_a_pdfs_outline_gives_its_pages_headings_sections_and_markdown(engine: PdfEngine) -> None:
    pages, *_ = read_document(io.BytesIO(outlined_pdf()), "book.pdf", Recorded(), Settings(), engine)
    pages = with_outline(normalized(pages))
    assert pages[0].markdown is not None
    assert pages[0].markdown.startswith("# Chapter 1\n## Part 1.1\n")
    chunks = chunk_pages(pages, 400, 40, tokenizer=TOKENIZER)
    check_spans(pages, chunks)
    assert chunks[0].headings == ["Chapter 1"]
    assert any(chunk.headings == ["Chapter 2", "Part 2.2"] for chunk in chunks)
    for chunk in chunks:
        # A chunk never runs from one chapter into the next.
        assert sum(f"Chapter {n}" in chunk.text for n in range(1, 4)) <= 1
