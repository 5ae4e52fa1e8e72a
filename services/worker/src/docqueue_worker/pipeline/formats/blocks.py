"""What a structured document is made of, and its two renderings: `text` (what chunks and spans
index, as for every format) and `markdown` (headings, lists and tables kept)."""

import re
from dataclasses import dataclass, field

from docqueue.results import Page


@dataclass(frozen=True)
class Heading:
    level: int  # 1 is the outermost
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str
    # List items: their nesting level (0 outermost) and whether the list is numbered.
    list_level: int | None = None
    numbered: bool = False


@dataclass(frozen=True)
class Table:
    rows: list[list[str]]  # the first row is the header


@dataclass(frozen=True)
class Notes:
    """A slide's speaker notes."""

    text: str


Block = Heading | Paragraph | Table | Notes


@dataclass(frozen=True)
class Mark:
    """A heading or a table of a page, by the lines of the page's text it covers (what the
    chunker needs to start chunks at sections, keep tables whole and name a chunk's headings)."""

    kind: str  # "heading" or "table"
    first_line: int
    last_line: int
    level: int = 0  # headings: 1 is the outermost
    text: str = ""  # headings: the heading


@dataclass
class PageBlocks:
    """One page of blocks while a reader collects them."""

    blocks: list[Block] = field(default_factory=list)

    def add(self, block: Block) -> None:
        if isinstance(block, Table):
            if any(cell for row in block.rows for cell in row):
                self.blocks.append(block)
        elif block.text.strip():
            self.blocks.append(block)


def render(number: int, blocks: list[Block]) -> Page:
    """The page as text (one line per paragraph or table row, cells tab-separated) and as
    Markdown; both hold every word."""
    texts = [_text(block) for block in blocks]
    page = Page(number=number, text="\n".join(texts), markdown=markdown(blocks))
    marks = []
    line = 0
    for block, text in zip(blocks, texts, strict=True):
        lines = text.count("\n") + 1
        if isinstance(block, Heading):
            marks.append(Mark("heading", line, line + lines - 1, block.level, _one_line(block.text)))
        elif isinstance(block, Table):
            marks.append(Mark("table", line, line + lines - 1))
        line += lines
    page._marks = tuple(marks)
    return page


def markdown(blocks: list[Block]) -> str:
    """Blocks separated by a blank line; the items of one list by a line break only."""
    parts: list[str] = []
    for index, block in enumerate(blocks):
        if index:
            parts.append("\n" if _is_item(block) and _is_item(blocks[index - 1]) else "\n\n")
        parts.append(_markdown(block))
    return "".join(parts)


def _is_item(block: Block) -> bool:
    return isinstance(block, Paragraph) and block.list_level is not None


_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def markdown_headings(text: str) -> tuple[Mark, ...]:
    """The ATX headings (`## Title`) of a Markdown text, outside code fences."""
    marks = []
    fenced = False
    for number, line in enumerate(text.split("\n")):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        heading = None if fenced else _ATX_HEADING.match(line)
        if heading:
            marks.append(Mark("heading", number, number, len(heading.group(1)), heading.group(2).strip()))
    return tuple(marks)


def render_pages(pages: list[PageBlocks]) -> list[Page]:
    return [render(number, page.blocks) for number, page in enumerate(pages, start=1)]


def _text(block: Block) -> str:
    if isinstance(block, Table):
        return "\n".join("\t".join(_one_line(cell) for cell in row) for row in block.rows)
    if isinstance(block, Notes):
        return f"Notes: {block.text.strip()}"
    return block.text.strip()


def _markdown(block: Block) -> str:
    if isinstance(block, Heading):
        return f"{'#' * min(max(block.level, 1), 6)} {_one_line(block.text)}"
    if isinstance(block, Table):
        return markdown_table(block.rows)
    if isinstance(block, Notes):
        return "> **Notes:** " + "\n> ".join(block.text.strip().splitlines())
    if block.list_level is not None:
        marker = "1." if block.numbered else "-"
        return f"{'  ' * block.list_level}{marker} {_one_line(block.text)}"
    return block.text.strip()


def markdown_table(rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table; the first row is the header, short rows are padded."""
    width = max(len(row) for row in rows)
    cells = [[_cell(cell) for cell in row] + [""] * (width - len(row)) for row in rows]
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return _one_line(text).replace("|", "\\|")


def _one_line(text: str) -> str:
    return " ".join(text.split())
