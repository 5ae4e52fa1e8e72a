"""HTML and XHTML pages (through lexbor's HTML5 parser, selectolax), EPUB books (one page per
chapter of the spine) and ODT documents (ODF's content.xml, through defusedxml): visible text only,
headings, lists and tables kept."""

import posixpath
import re
from collections.abc import Iterator
from typing import BinaryIO
from urllib.parse import unquote
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeXml
from defusedxml import DefusedXmlException
from selectolax.lexbor import LexborHTMLParser, LexborNode

from docqueue.errors import DocumentError, ErrorCode
from docqueue_worker.pipeline.formats.archive import ArchiveLimits, open_archive, read_entry
from docqueue_worker.pipeline.formats.blocks import Heading, PageBlocks, Paragraph, Table
from docqueue_worker.pipeline.formats.office import Read

# Never visible, or not text: skipped with everything inside.
_SKIPPED = frozenset({
    "script", "style", "template", "noscript", "head", "iframe", "object", "embed", "svg", "math",
    "canvas", "select", "datalist", "dialog",
})  # fmt: skip
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_LISTS = frozenset({"ul", "ol", "menu"})
# Elements that end the paragraph before them and start a new one.
_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "body", "caption", "dd", "details", "div", "dl",
    "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hr", "html", "li", "main",
    "nav", "p", "pre", "section", "summary", "ul", "ol", "menu",
})  # fmt: skip
_TEXT = "-text"
# Permalink anchors that documentation generators (Sphinx, MkDocs) put in every heading ("¶").
_DECORATIONS = frozenset({"headerlink"})
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)

# The nesting pre-check, before lexbor (whose parse time grows with the square of the depth).
_TAG = re.compile(
    rb"<!--.*?-->|<(script|style|textarea|title)\b[^>]*>.*?</\1\s*>|<(/?)([a-zA-Z][a-zA-Z0-9:-]*)[^>]*?(/?)>",
    re.S | re.I,
)
_VOID = frozenset({
    b"area", b"base", b"br", b"col", b"embed", b"hr", b"img", b"input", b"link", b"meta", b"param",
    b"source", b"track", b"wbr",
})  # fmt: skip
# Opening one of these closes an open one of the same name (HTML's implied end tags).
_SELF_CLOSING_SIBLINGS = frozenset(
    {b"p", b"li", b"dt", b"dd", b"tr", b"td", b"th", b"option", b"tbody", b"thead"}
)

# text:s c="N" stands for N spaces; more than this in one run is not layout but an attack.
MAX_ODF_SPACES = 100
_ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_ODF_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_ODF_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_DC = "http://purl.org/dc/elements/1.1/"
_OPF = "http://www.idpf.org/2007/opf"
_CONTAINER = "urn:oasis:names:tc:opendocument:xmlns:container"
_HTML_MEDIA = frozenset({"application/xhtml+xml", "text/html"})


def nesting_depth(data: bytes, limit: int) -> int:
    """How deep the page's elements nest, approximated from its tags (stops counting past
    `limit`); comments and script, style, textarea and title contents are not looked into."""
    stack: list[bytes] = []
    deepest = 0
    for match in _TAG.finditer(data):
        name = match.group(3)
        if name is None:
            continue
        name = name.lower()
        if name in _VOID or match.group(4):
            continue
        if match.group(2):
            if name in stack:
                del stack[len(stack) - 1 - stack[::-1].index(name) :]
            continue
        if name in _SELF_CLOSING_SIBLINGS and name in stack[-3:]:
            del stack[len(stack) - 1 - stack[::-1].index(name) :]
        stack.append(name)
        deepest = max(deepest, len(stack))
        if deepest > limit:
            break
    return deepest


def read_html(data: bytes, max_depth: int, kind: str = "HTML page") -> Read:
    """An HTML or XHTML page as one page; `<title>` is the document's title."""
    if nesting_depth(data, max_depth) > max_depth:
        raise _too_deep(kind, max_depth)
    tree = LexborHTMLParser(data)
    title_node = tree.css_first("title")
    title = " ".join(title_node.text().split())[:500] if title_node is not None else ""
    page = PageBlocks()
    if tree.body is not None:
        HtmlBlocks(page, max_depth, kind).walk(tree.body)
    return Read([page], title or None)


class HtmlBlocks:
    """Walks an HTML tree without recursion, turning it into blocks."""

    def __init__(self, page: PageBlocks, max_depth: int, kind: str) -> None:
        self.page = page
        self.max_depth = max_depth
        self.kind = kind
        self.buffer: list[str] = []
        self.items: list[tuple[int, bool]] = []  # the open list items: (level, numbered)
        self.lists: list[bool] = []  # the open lists: numbered?

    def walk(self, root: LexborNode) -> None:
        # (node, depth, leaving): a node is visited on the way in and, for blocks, on the way out.
        stack: list[tuple[LexborNode, int, bool]] = [(root, 0, False)]
        while stack:
            node, depth, leaving = stack.pop()
            if leaving:
                self.leave(node)
                continue
            if depth > self.max_depth:
                raise _too_deep(self.kind, self.max_depth)
            tag = node.tag or ""
            if tag == _TEXT:
                self.buffer.append(node.text_content or "")
                continue
            if tag.startswith(("-", "_")) or tag in _SKIPPED or hidden(node):
                continue
            if tag == "br":
                self.buffer.append("\n")
                continue
            if tag in _HEADINGS:
                self.flush()
                self.page.add(Heading(_HEADINGS[tag], inline_text(node, depth, self)))
                continue
            if tag == "table":
                self.flush()
                self.page.add(Table(table_rows(node, depth, self)))
                continue
            self.enter(tag)
            stack.append((node, depth, True))
            stack.extend((child, depth + 1, False) for child in reversed(list(children(node))))
        self.flush()

    def enter(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.flush()
        if tag in _LISTS:
            self.lists.append(tag == "ol")
        elif tag == "li":
            self.items.append((max(len(self.lists) - 1, 0), bool(self.lists and self.lists[-1])))

    def leave(self, node: LexborNode) -> None:
        tag = node.tag or ""
        if tag in _BLOCKS:
            self.flush()
        if tag in _LISTS and self.lists:
            self.lists.pop()
        elif tag == "li" and self.items:
            self.items.pop()

    def flush(self) -> None:
        text = "\n".join(" ".join(line.split()) for line in "".join(self.buffer).split("\n")).strip()
        self.buffer.clear()
        if not text:
            return
        if self.items:
            level, numbered = self.items[-1]
            self.page.add(Paragraph(text, list_level=level, numbered=numbered))
        else:
            self.page.add(Paragraph(text))


def children(node: LexborNode) -> Iterator[LexborNode]:
    child = node.child
    while child is not None:
        yield child
        child = child.next


def hidden(node: LexborNode) -> bool:
    attributes = node.attributes
    if "hidden" in attributes or attributes.get("aria-hidden") == "true":
        return True
    classes = attributes.get("class")
    if classes and not _DECORATIONS.isdisjoint(classes.split()):
        return True
    style = attributes.get("style")
    return bool(style and _HIDDEN_STYLE.search(style))


def inline_text(node: LexborNode, depth: int, walker: HtmlBlocks) -> str:
    """The visible text under `node`, whitespace collapsed."""
    parts: list[str] = []
    stack = [(node, depth)]
    while stack:
        current, level = stack.pop()
        if level > walker.max_depth:
            raise _too_deep(walker.kind, walker.max_depth)
        tag = current.tag or ""
        if tag == _TEXT:
            parts.append(current.text_content or "")
        elif tag == "br":
            parts.append(" ")
        elif not (tag.startswith(("-", "_")) or tag in _SKIPPED or hidden(current)):
            stack.extend((child, level + 1) for child in reversed(list(children(current))))
    return " ".join("".join(parts).split())


def table_rows(table: LexborNode, depth: int, walker: HtmlBlocks) -> list[list[str]]:
    """The table's own rows (a table nested in a cell is that cell's text) as cell texts."""
    rows: list[LexborNode] = []
    for child in children(table):
        if child.tag == "tr":
            rows.append(child)
        elif child.tag in ("thead", "tbody", "tfoot"):
            rows.extend(row for row in children(child) if row.tag == "tr")
    cells = [
        [
            inline_text(cell, depth + 3, walker)
            for cell in children(row)
            if cell.tag in ("td", "th") and not hidden(cell)
        ]
        for row in rows
        if not hidden(row)
    ]
    return [row for row in cells if row]


def _too_deep(kind: str, limit: int) -> DocumentError:
    return DocumentError(
        ErrorCode.DOCUMENT_TOO_COMPLEX,
        f"the {kind} exceeds a parsing limit: elements nest deeper than {limit} (DOCQUEUE_MAX_HTML_DEPTH)",
    )


# --- EPUB ----------------------------------------------------------------------------------------


def read_epub(stream: BinaryIO, limits: ArchiveLimits, max_pages: int, max_depth: int) -> Read:
    """Each chapter of the spine, once, in spine order, as a page; links are never followed."""
    with open_archive(stream, limits, "EPUB") as archive:
        container = parse_xml(read_entry(archive, "META-INF/container.xml", "EPUB"), "EPUB")
        rootfile = container.find(f".//{{{_CONTAINER}}}rootfile")
        if rootfile is None or not rootfile.get("full-path"):
            raise DocumentError(ErrorCode.CORRUPT_DOCUMENT, "the EPUB's container.xml names no package")
        package_path = rootfile.get("full-path", "")
        package = parse_xml(read_entry(archive, package_path, "EPUB"), "EPUB")
        chapters = spine_chapters(package, posixpath.dirname(package_path))
        if len(chapters) > max_pages:
            raise DocumentError(
                ErrorCode.TOO_MANY_PAGES, f"the EPUB has {len(chapters)} chapters; the limit is {max_pages}"
            )
        pages = []
        for chapter in chapters:
            read = read_html(read_entry(archive, chapter, "EPUB"), max_depth, "EPUB chapter")
            pages.extend(read.pages)
        metadata = package.find(f"{{{_OPF}}}metadata")
        title = author = None
        if metadata is not None:
            title = _text_of(metadata.find(f"{{{_DC}}}title"))
            author = _text_of(metadata.find(f"{{{_DC}}}creator"))
        return Read(pages or [PageBlocks()], title, author)


def spine_chapters(package: Element, base: str) -> list[str]:
    """The archive paths of the spine's HTML chapters, each once, in reading order."""
    manifest = {
        item.get("id"): item
        for item in package.iterfind(f"{{{_OPF}}}manifest/{{{_OPF}}}item")
        if item.get("id") and item.get("href")
    }
    chapters: list[str] = []
    seen: set[str] = set()
    for itemref in package.iterfind(f"{{{_OPF}}}spine/{{{_OPF}}}itemref"):
        item = manifest.get(itemref.get("idref"))
        if item is None or item.get("media-type") not in _HTML_MEDIA:
            continue
        path = posixpath.normpath(posixpath.join(base, unquote(item.get("href", "").split("#")[0])))
        if path not in seen:
            seen.add(path)
            chapters.append(path)
    return chapters


# --- ODT -----------------------------------------------------------------------------------------


def read_odt(stream: BinaryIO, limits: ArchiveLimits, max_depth: int) -> Read:
    """An OpenDocument text as one page: headings (outline levels), paragraphs, lists, tables."""
    with open_archive(stream, limits, "ODT") as archive:
        content = parse_xml(read_entry(archive, "content.xml", "ODT"), "ODT")
        title = author = None
        if "meta.xml" in archive.namelist():
            meta = parse_xml(read_entry(archive, "meta.xml", "ODT"), "ODT")
            title = _text_of(meta.find(f".//{{{_DC}}}title"))
            author = _text_of(meta.find(f".//{{{_DC}}}creator"))
    body = content.find(f"{{{_ODF_OFFICE}}}body/{{{_ODF_OFFICE}}}text")
    page = PageBlocks()
    if body is not None:
        odt_blocks(body, page, max_depth)
    return Read([page], title, author)


def odt_blocks(body: Element, page: PageBlocks, max_depth: int) -> None:
    # (element, list level or None, depth), without recursion.
    stack: list[tuple[Element, int | None, int]] = [(child, None, 1) for child in reversed(list(body))]
    while stack:
        element, level, depth = stack.pop()
        if depth > max_depth:
            raise _too_deep("ODT", max_depth)
        tag = element.tag
        if tag == f"{{{_ODF_TEXT}}}h":
            outline = element.get(f"{{{_ODF_TEXT}}}outline-level", "1")
            page.add(Heading(int(outline) if outline.isdigit() else 1, odf_text(element)))
        elif tag == f"{{{_ODF_TEXT}}}p":
            page.add(Paragraph(odf_text(element), list_level=level))
        elif tag == f"{{{_ODF_TEXT}}}list":
            inner = 0 if level is None else level + 1
            stack.extend((item, inner, depth + 1) for item in reversed(list(element)))
        elif tag in (f"{{{_ODF_TEXT}}}list-item", f"{{{_ODF_TEXT}}}section"):
            stack.extend((child, level, depth + 1) for child in reversed(list(element)))
        elif tag == f"{{{_ODF_TABLE}}}table":
            page.add(Table(odf_table_rows(element)))


def odf_text(element: Element) -> str:
    """An ODF paragraph's text: text:s is spaces, text:tab a tab, text:line-break a newline."""
    parts: list[str] = []
    # (node, tail only?): a node's text and children come before its tail.
    stack: list[tuple[Element, bool]] = [(element, False)]
    while stack:
        node, tail = stack.pop()
        if tail:
            parts.append(node.tail or "")
            continue
        if node is not element:
            stack.append((node, True))
        if node.tag == f"{{{_ODF_TEXT}}}s":
            count = node.get(f"{{{_ODF_TEXT}}}c", "1")
            parts.append(" " * min(int(count) if count.isdigit() else 1, MAX_ODF_SPACES))
        elif node.tag == f"{{{_ODF_TEXT}}}tab":
            parts.append("\t")
        elif node.tag == f"{{{_ODF_TEXT}}}line-break":
            parts.append("\n")
        else:
            parts.append(node.text or "")
            stack.extend((child, False) for child in reversed(list(node)))
    return "".join(parts)


def odf_table_rows(table: Element) -> list[list[str]]:
    rows = []
    for row in table.iter(f"{{{_ODF_TABLE}}}table-row"):
        rows.append([
            "\n".join(odf_text(p) for p in cell.iter(f"{{{_ODF_TEXT}}}p"))
            for cell in row
            if cell.tag == f"{{{_ODF_TABLE}}}table-cell"
        ])  # fmt: skip
    return rows


# --- shared --------------------------------------------------------------------------------------


def parse_xml(data: bytes, kind: str) -> Element:
    """XML we parse ourselves: no DTD, no entities, nothing external (defusedxml)."""
    try:
        return SafeXml.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise DocumentError(
            ErrorCode.DOCUMENT_TOO_COMPLEX, f"the {kind} declares XML entities or a DTD: {type(exc).__name__}"
        ) from exc
    except (SafeXml.ParseError, ValueError) as exc:
        raise DocumentError(ErrorCode.CORRUPT_DOCUMENT, f"the {kind}'s XML cannot be read: {exc}") from exc


def _text_of(element: Element | None) -> str | None:
    if element is None or not element.text:
        return None
    return element.text.strip()[:500] or None
