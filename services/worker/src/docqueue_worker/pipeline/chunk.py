"""Split a document's text into overlapping chunks for retrieval, each knowing its pages, its span,
its token count and the headings above it.

Sizes count characters or tokens (`Measure`). Where the readers found structure (Office, HTML,
EPUB), a chunk never crosses into the next section of the top heading level, a table that fits in
one chunk is never split, and each chunk names the path of headings above its start."""

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

import tiktoken

from docqueue.results import Chunk, Page
from docqueue_worker.pipeline import tokens
from docqueue_worker.pipeline.formats.blocks import Mark

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


class Measure:
    """Sizes in characters, or in tokens: then a unit is a token of the whole text, found by
    where it starts, and a chunk's exact count is taken of its own text."""

    def __init__(self, text: str, tokenizer: tiktoken.Encoding | None) -> None:
        self.length = len(text)
        self.tokenizer = tokenizer
        self.starts = tokens.starts(tokenizer, text) if tokenizer is not None else None

    def index(self, offset: int) -> int:
        """Units that start before `offset`."""
        return offset if self.starts is None else bisect.bisect_left(self.starts, offset)

    def offset(self, index: int) -> int:
        """Where unit `index` starts (the end of the text past the last)."""
        if self.starts is None:
            return min(index, self.length)
        return self.starts[index] if index < len(self.starts) else self.length

    def size(self, text: str) -> int:
        return len(text) if self.tokenizer is None else tokens.count(self.tokenizer, text)


@dataclass(frozen=True)
class Outline:
    """The document's structure as character offsets of its joined text."""

    headings: list[tuple[int, int, str]]  # (offset, level, text), in order
    sections: list[int]  # where each section of the top heading level starts (but the first)
    tables: list[tuple[int, int]]  # (start, end) of each table, in order
    header_ends: list[int]  # where each table's header row ends

    @classmethod
    def of(cls, pages: Sequence[Page], page_starts: list[int]) -> "Outline":
        headings: list[tuple[int, int, str]] = []
        tables: list[tuple[int, int]] = []
        header_ends: list[int] = []
        for page, page_start in zip(pages, page_starts, strict=True):
            lines = _line_starts(page.text)
            for mark in page._marks:
                if not isinstance(mark, Mark) or mark.last_line >= len(lines):
                    continue
                start = page_start + lines[mark.first_line]
                if mark.kind == "heading":
                    headings.append((start, mark.level, mark.text))
                else:
                    end = page_start + _line_end(page.text, lines, mark.last_line)
                    tables.append((start, end))
                    header_ends.append(page_start + _line_end(page.text, lines, mark.first_line))
        top = min((level for _, level, _ in headings), default=0)
        sections = [offset for offset, level, _ in headings if level == top and offset > 0]
        return cls(headings, sections, tables, header_ends)

    def path(self, offset: int) -> list[str]:
        """The headings above `offset`, outermost first."""
        stack: list[tuple[int, str]] = []
        for start, level, text in self.headings:
            if start > offset:
                break
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, text))
        return [text for _, text in stack]

    def next_section(self, offset: int) -> int | None:
        found = bisect.bisect_right(self.sections, offset)
        return self.sections[found] if found < len(self.sections) else None

    def section_start(self, offset: int) -> int:
        found = bisect.bisect_right(self.sections, offset)
        return self.sections[found - 1] if found else 0

    def continued_header(self, text: str, offset: int) -> str | None:
        """The header row of the table a chunk starting at `offset` continues, if it starts
        inside one past its header."""
        found = bisect.bisect_right(self.tables, offset, key=lambda table: table[0]) - 1
        if found >= 0 and self.header_ends[found] <= offset < self.tables[found][1]:
            return text[self.tables[found][0] : self.header_ends[found]]
        return None

    def table_at(self, offset: int) -> tuple[int, int] | None:
        """The table `offset` falls strictly inside."""
        found = bisect.bisect_right(self.tables, offset, key=lambda table: table[0]) - 1
        if found >= 0:
            start, end = self.tables[found]
            if start < offset < end:
                return start, end
        return None


def chunk_pages(
    pages: Sequence[Page],
    size: int,
    overlap: int,
    *,
    tokenizer: tiktoken.Encoding | None = None,
    by_tokens: bool = False,
) -> list[Chunk]:
    """Chunks of at most `size` units (characters, or tokens of `tokenizer` when `by_tokens`);
    consecutive chunks of one section share about `overlap` units. Each chunk's `token_count`
    is counted with `tokenizer` when one is given, whatever the unit."""
    if overlap >= size:
        raise ValueError("overlap must be smaller than size")
    if by_tokens and tokenizer is None:
        raise ValueError("chunking by tokens needs a tokenizer")
    text, starts = document_text(pages)
    measure = Measure(text, tokenizer if by_tokens else None)
    outline = Outline.of(pages, starts)

    def page_at(offset: int) -> int:
        return pages[bisect.bisect_right(starts, offset) - 1].number

    chunks: list[Chunk] = []
    start = _skip_space(text, 0, len(text))
    while start < len(text):
        end, measured = _chunk_end(text, start, size, measure, outline)
        stripped_end = _trim_space(text, start, end)
        chunk_text = text[start:stripped_end]
        if tokenizer is None:
            token_count = None
        else:
            token_count = measured if by_tokens else tokens.count(tokenizer, chunk_text)
        chunks.append(
            Chunk(
                index=len(chunks),
                text=chunk_text,
                page_start=page_at(start),
                page_end=page_at(stripped_end - 1),
                char_start=start,
                char_end=stripped_end,
                token_count=token_count,
                headings=outline.path(start),
                table_header=outline.continued_header(text, start),
            )
        )
        if end >= len(text):
            break
        start = _skip_space(text, _next_start(text, start, end, overlap, measure, outline), len(text))
    return chunks


def _chunk_end(text: str, start: int, size: int, measure: Measure, outline: Outline) -> tuple[int, int]:
    """The end of the chunk from `start` and its size: at most `size` units (counted exactly on
    its text), not past the next top-level section, and not inside a table that fits."""
    budget = size
    while True:
        end = _window_end(text, start, budget, measure, outline)
        measured = measure.size(text[start : _trim_space(text, start, end)])
        if measured <= size or budget <= 1:
            return end, measured
        budget = max(1, budget - (measured - size))


def _window_end(text: str, start: int, budget: int, measure: Measure, outline: Outline) -> int:
    end = measure.offset(measure.index(start) + budget)
    if end <= start:
        end = min(start + 1, len(text))
    section = outline.next_section(start)
    if section is not None and section <= end:
        return section
    table = outline.table_at(end)
    if table is not None and table[0] > start and measure.index(table[1]) - measure.index(table[0]) <= budget:
        return table[0]
    if end < len(text):
        return _break_before(text, start, end)
    return end


def _break_before(text: str, start: int, end: int) -> int:
    floor = start + (end - start) * 3 // 4
    for separator in _BREAKS:
        found = text.rfind(separator, floor, end)
        if found != -1:
            return found + len(separator)
    return end


def _next_start(text: str, start: int, end: int, overlap: int, measure: Measure, outline: Outline) -> int:
    """Step back `overlap` units from `end`, then forward to the next word boundary; never back
    into the previous section, and past a table the chunk just held whole."""
    candidate = max(measure.offset(measure.index(end) - overlap), start + 1)
    if candidate < end:
        space = text.find(" ", candidate, end)
        if space != -1:
            candidate = space + 1
    candidate = max(candidate, outline.section_start(end))
    table = outline.table_at(candidate)
    if table is not None and table[1] <= end:
        candidate = table[1]
    return min(candidate, end) if candidate > start else end


def _line_starts(text: str) -> list[int]:
    starts = [0]
    found = text.find("\n")
    while found != -1:
        starts.append(found + 1)
        found = text.find("\n", found + 1)
    return starts


def _line_end(text: str, starts: list[int], line: int) -> int:
    return starts[line + 1] - 1 if line + 1 < len(starts) else len(text)


def _skip_space(text: str, start: int, stop: int) -> int:
    while start < stop and text[start].isspace():
        start += 1
    return start


def _trim_space(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end
