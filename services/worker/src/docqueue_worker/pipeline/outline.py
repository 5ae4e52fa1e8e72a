"""A PDF's outline (its bookmarks) as the headings of its pages: an entry whose title is a line of
the page it points to marks that line as a heading, for the chunker (`headings`, sections) and
the page's Markdown. Outlines are never worth failing a document over: a broken one is ignored."""

import logging
from dataclasses import dataclass

import pypdfium2 as pdfium
from pypdf import PdfReader
from pypdf.generic import Destination

from docqueue.results import Page
from docqueue_worker.pipeline.formats.blocks import Mark

log = logging.getLogger(__name__)

# Entries read from one outline, and how deep it may nest; the rest are ignored.
MAX_ENTRIES = 5000
MAX_DEPTH = 8


@dataclass(frozen=True)
class Entry:
    level: int  # 1 is the outermost
    title: str
    page: int  # 1-based


def pypdf_outline(reader: PdfReader) -> list[Entry]:
    """The outline pypdf reads, walked without recursion, bounded in entries and depth."""
    try:
        entries: list[Entry] = []
        stack: list[tuple[list[object], int]] = [(list(reader.outline), 1)]
        while stack and len(entries) < MAX_ENTRIES:
            items, level = stack.pop()
            for index, item in enumerate(items):
                if isinstance(item, list):
                    if level < MAX_DEPTH:
                        # Children of the entry before; the rest of this level after them.
                        stack.append((items[index + 1 :], level))
                        stack.append((item, level + 1))
                        break
                    continue
                if isinstance(item, Destination) and item.title:
                    number = reader.get_destination_page_number(item)
                    if number is not None and number >= 0:
                        entries.append(Entry(level, str(item.title), number + 1))
        return entries[:MAX_ENTRIES]
    except Exception as exc:  # noqa: BLE001 - pypdf's parser raises a zoo on broken outlines
        log.info("ignoring an outline pypdf cannot read: %s", type(exc).__name__)
        return []


def pdfium_outline(document: pdfium.PdfDocument) -> list[Entry]:
    """The outline PDFium reads (pypdfium2 stops at loops and at MAX_DEPTH)."""
    try:
        entries = []
        for bookmark in document.get_toc(max_depth=MAX_DEPTH):
            dest = bookmark.get_dest()
            index = dest.get_index() if dest is not None else None
            title = bookmark.get_title()
            if index is not None and title:
                entries.append(Entry(bookmark.level + 1, title, index + 1))
            if len(entries) >= MAX_ENTRIES:
                break
        return entries
    except Exception as exc:  # noqa: BLE001 - the outline is optional; the text is not
        log.info("ignoring an outline PDFium cannot read: %s", type(exc).__name__)
        return []


def attach(pages: list[Page], entries: list[Entry]) -> None:
    """Each page keeps the outline entries that point to it until its text is final."""
    by_page: dict[int, list[Entry]] = {}
    for entry in entries:
        by_page.setdefault(entry.page, []).append(entry)
    for page in pages:
        page._marks = tuple(by_page.get(page.number, ()))


def with_outline(pages: list[Page]) -> list[Page]:
    """The pages (their text final, normalized or not) with each outline title found as a line
    of its page marked as a heading, and their Markdown giving those lines as headings."""
    out = []
    for page in pages:
        lines = page.text.split("\n")
        marks: list[Mark] = []
        taken: set[int] = set()
        for entry in (mark for mark in page._marks if isinstance(mark, Entry)):
            line = _find_line(lines, entry.title, taken)
            if line is not None:
                taken.add(line)
                marks.append(Mark("heading", line, line, entry.level, " ".join(entry.title.split())))
        if not marks:
            page._marks = ()
            out.append(page)
            continue
        levels = {mark.first_line: mark.level for mark in marks}
        markdown = "\n".join(
            f"{'#' * min(levels[number], 6)} {line.strip()}" if number in levels else line
            for number, line in enumerate(lines)
        )
        copy = page.model_copy(update={"markdown": markdown})
        marks.sort(key=lambda mark: mark.first_line)
        copy._marks = tuple(marks)
        out.append(copy)
    return out


def _find_line(lines: list[str], title: str, taken: set[int]) -> int | None:
    """The first line not yet taken that reads as the title (case and spacing aside)."""
    want = " ".join(title.split()).casefold()
    if not want:
        return None
    for number, line in enumerate(lines):
        if number not in taken and " ".join(line.split()).casefold() == want:
            return number
    return None
