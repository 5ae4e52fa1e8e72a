"""Chunking: sizes, overlap, page and character spans."""

import itertools

import pytest

from docqueue.results import Page
from docqueue_worker.pipeline.chunk import chunk_pages, document_text


def pages_of(*texts: str) -> list[Page]:
    return [Page(number=i, text=text) for i, text in enumerate(texts, start=1)]


def test_spans_index_the_joined_text() -> None:
    pages = pages_of("alpha beta gamma. " * 40, "delta epsilon. " * 50, "zeta eta theta " * 30)
    text, starts = document_text(pages)
    assert starts == [0, len(pages[0].text) + 2, len(pages[0].text) + len(pages[1].text) + 4]
    chunks = chunk_pages(pages, size=200, overlap=40)
    for chunk in chunks:
        assert text[chunk.char_start : chunk.char_end] == chunk.text
        assert 0 < len(chunk.text) <= 200
        assert chunk.text == chunk.text.strip()
    assert chunks[0].page_start == 1
    assert chunks[-1].page_end == 3
    assert any(chunk.page_start == 1 and chunk.page_end == 2 for chunk in chunks)


def test_consecutive_chunks_overlap_and_cover_everything() -> None:
    pages = pages_of(" ".join(f"word{i}" for i in range(2000)))
    chunks = chunk_pages(pages, size=300, overlap=60)
    for previous, current in itertools.pairwise(chunks):
        assert current.char_start < previous.char_end, "no overlap"
        assert current.char_start > previous.char_start, "no progress"
        assert previous.char_end - current.char_start <= 60
    covered: set[int] = set()
    for chunk in chunks:
        covered.update(range(chunk.char_start, chunk.char_end))
    text, _ = document_text(pages)
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_prefers_paragraph_and_sentence_breaks() -> None:
    pages = pages_of("First sentence here. " * 9 + "\n\n" + "Second paragraph words. " * 9)
    chunks = chunk_pages(pages, size=220, overlap=0)
    assert chunks[0].text.endswith(".")


def test_word_longer_than_a_chunk_is_cut() -> None:
    chunks = chunk_pages(pages_of("x" * 1000), size=300, overlap=50)
    assert [len(c.text) for c in chunks[:3]] == [300, 300, 300]


def test_empty_and_blank_pages_give_no_chunks() -> None:
    assert chunk_pages(pages_of("", "   \n "), size=100, overlap=10) == []


def test_overlap_must_be_smaller_than_size() -> None:
    with pytest.raises(ValueError, match="overlap"):
        chunk_pages(pages_of("abc"), size=100, overlap=100)
