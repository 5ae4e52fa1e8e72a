"""Split a document's text into overlapping chunks for retrieval, each knowing its pages and span."""

import bisect
from collections.abc import Sequence

from docqueue.results import Chunk, Page

PAGE_SEPARATOR = "\n\n"
# Prefer to end a chunk at one of these, searched from the strongest, within the window's last quarter.
_BREAKS = ("\n\n", "\n", ". ", "? ", "! ", " ")


def document_text(pages: Sequence[Page]) -> tuple[str, list[int]]:
    """The joined text and the character offset where each page starts."""
    starts: list[int] = []
    offset = 0
    for page in pages:
        starts.append(offset)
        offset += len(page.text) + len(PAGE_SEPARATOR)
    return PAGE_SEPARATOR.join(page.text for page in pages), starts


def chunk_pages(pages: Sequence[Page], size: int, overlap: int) -> list[Chunk]:
    """Chunks of at most `size` characters; consecutive chunks share about `overlap` characters."""
    if overlap >= size:
        raise ValueError("overlap must be smaller than size")
    text, starts = document_text(pages)

    def page_at(offset: int) -> int:
        return pages[bisect.bisect_right(starts, offset) - 1].number

    chunks: list[Chunk] = []
    start = _skip_space(text, 0, len(text))
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            end = _break_before(text, start, end)
        stripped_end = _trim_space(text, start, end)
        chunks.append(
            Chunk(
                index=len(chunks),
                text=text[start:stripped_end],
                page_start=page_at(start),
                page_end=page_at(stripped_end - 1),
                char_start=start,
                char_end=stripped_end,
            )
        )
        if end >= len(text):
            break
        start = _skip_space(text, _next_start(text, start, end, overlap), len(text))
    return chunks


def _break_before(text: str, start: int, end: int) -> int:
    floor = start + (end - start) * 3 // 4
    for separator in _BREAKS:
        found = text.rfind(separator, floor, end)
        if found != -1:
            return found + len(separator)
    return end


def _next_start(text: str, start: int, end: int, overlap: int) -> int:
    """Step back `overlap` characters from `end`, then forward to the next word boundary."""
    candidate = max(end - overlap, start + 1)
    if candidate < end:
        space = text.find(" ", candidate, end)
        if space != -1:
            return space + 1
    return candidate


def _skip_space(text: str, start: int, stop: int) -> int:
    while start < stop and text[start].isspace():
        start += 1
    return start


def _trim_space(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end
