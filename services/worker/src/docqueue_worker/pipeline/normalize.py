"""One text normalization after every reader and before chunking, so a document gives the same
searchable text whichever engine read it (DOCQUEUE_TEXT_NORMALIZATION=standard).

The rules, in order:
1. Line endings become LF (CR LF, CR, U+2028, U+2029).
2. A line-end soft hyphen (U+00AD) joins the two halves; every other soft hyphen, byte-order mark,
   Unicode non-character and control character (but LF) is removed; a tab becomes a space.
3. Typographic ligatures (U+FB00-U+FB06) and the Hebrew and Arabic presentation forms
   (U+FB1D-U+FDFF, U+FE70-U+FEFE) are folded to the letters they draw (NFKC of those code points
   only): PDFs of those scripts store shaped glyphs, while their readers type and search the base
   letters. Nothing is reordered: right-to-left text keeps its order.
4. Unicode NFC.
5. Outside Markdown code fences: a word hyphenated across a line end ("adip-\\niscing") is joined
   when the hyphen follows a letter and the next line starts with a lower-case letter. That rule
   cannot tell a line-break hyphen from a real compound ("well-\\nknown"); without a dictionary the
   document decides: a compound that appears hyphenated inside a line anywhere in the document
   keeps its hyphen when joined. An upper-case word split in two ("OP-\\nTIONAL") is joined only
   when the document uses the joined word elsewhere; other upper-case or digit continuations
   ("Jean-\\nPierre", "1-\\n2") are left as they are.
6. Outside code fences, runs of spaces inside a line become one, trailing spaces go, leading
   indentation stays; more than one blank line becomes one (paragraph breaks are kept).
"""

import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import cached_property

LINE_BREAKS = re.compile(r"\r\n|[\r\u2028\u2029]")
SOFT_HYPHEN_AT_LINE_END = re.compile(r"\u00ad[ \t]*\n[ \t]*")
# Controls but LF and tab, soft hyphen, BOM and the non-characters (U+FDD0-U+FDEF, U+xFFFE/F).
REMOVED = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\ufeff\ufdd0-\ufdef"
    + "".join(f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17))
    + "]"
)
ASCII_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
PRESENTATION_FORMS = re.compile("[\ufb00-\ufb06\ufb1d-\ufdff\ufe70-\ufefe]")
FENCE = re.compile(r"^[ ]{0,3}(```|~~~)")
# A hyphen (ASCII or U+2010) after a letter at the end of a line, before the next line's word.
# The words around it are found from the hyphen, which is much faster than matching every word.
LINE_END_HYPHEN = re.compile(r"(?<=[^\W\d_])[-\u2010] *\n *(?P<tail>[^\W\d_]\w*)")
WORD_END = re.compile(r"\w+$")
INLINE_COMPOUND = re.compile(r"\b([^\W\d_]+)-([^\W\d_]+)\b")
CAPITALS = re.compile(r"\b[^\W\d_a-z]{4,}\b")
SPACES = re.compile(r"(?<=\S) {2,}")
TRAILING_SPACES = re.compile(r" +$", re.MULTILINE)
BLANK_LINES = re.compile(r"\n{3,}")


def normalize_pages(texts: Iterable[str]) -> list[str]:
    """Normalize a document's page texts; compounds seen on any page guide every page's joins."""
    texts = [normalize_characters(text) for text in texts]
    seen = DocumentWords(tuple(texts))
    return [normalize_layout(text, seen) for text in texts]


class DocumentWords:
    """What the whole document shows, to tell a line-break hyphen from a real one; each set is
    gathered only when a page has a split word that needs it."""

    def __init__(self, texts: tuple[str, ...]) -> None:
        self.texts = texts

    @cached_property
    def compounds(self) -> frozenset[str]:
        """Compounds seen inside a line ("well-known"), lower-cased."""
        return frozenset(m.group(0).lower() for text in self.texts for m in INLINE_COMPOUND.finditer(text))

    @cached_property
    def capitals(self) -> frozenset[str]:
        """Upper-case words seen whole ("OPTIONAL")."""
        found = (m.group(0) for text in self.texts for m in CAPITALS.finditer(text))
        return frozenset(word for word in found if word.isupper())


def normalize_characters(text: str, *, keep_tabs: bool = False) -> str:
    """Rules 1 to 4: line endings, removals, presentation forms, NFC. Structured pages (Office,
    HTML) keep their tabs, which separate table cells, and get no layout rules: their lines are
    paragraphs and rows, never a wrapped line of print."""
    # Each pass runs only when its characters occur: a substring test is far cheaper than a scan.
    if "\r" in text or "\u2028" in text or "\u2029" in text:
        text = LINE_BREAKS.sub("\n", text)
    if "\t" in text and not keep_tabs:
        text = text.replace("\t", " ")
    if text.isascii():  # most pages of most documents: only ASCII controls can apply
        return ASCII_CONTROLS.sub("", text)
    if "\u00ad" in text:
        text = SOFT_HYPHEN_AT_LINE_END.sub("", text)
    text = REMOVED.sub("", text)
    text = PRESENTATION_FORMS.sub(lambda match: unicodedata.normalize("NFKC", match.group(0)), text)
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def normalize_layout(text: str, seen: DocumentWords | None = None) -> str:
    """Rules 5 and 6 on the prose of a page; code fences are kept as they are."""
    seen = seen or DocumentWords((text,))
    if "```" not in text and "~~~" not in text:
        return normalize_prose(text, seen)
    return "".join(
        block if in_code else normalize_prose(block, seen) for in_code, block in fenced_blocks(text)
    )


def normalize_prose(text: str, seen: DocumentWords) -> str:
    # A line-end hyphen is "-" or U+2010 followed by spaces and a line break.
    if "-\n" in text or "- " in text or "\u2010" in text:
        text = join_hyphenated(text, seen)
    if "  " in text:
        text = SPACES.sub(" ", text)
    if " \n" in text or text.endswith(" "):
        text = TRAILING_SPACES.sub("", text)
    if "\n\n\n" in text:
        text = BLANK_LINES.sub("\n\n", text)
    return text


def join_hyphenated(text: str, seen: DocumentWords) -> str:
    out, copied = [], 0
    for match in LINE_END_HYPHEN.finditer(text):
        tail = match.group("tail")
        head_match = WORD_END.search(text, max(copied, match.start() - 64), match.start())
        head = head_match.group(0) if head_match else ""
        if tail[0].islower():
            joined = f"{head}-{tail}" if f"{head}-{tail}".lower() in seen.compounds else head + tail
        elif (head + tail).isupper() and head + tail in seen.capitals:
            joined = head + tail
        else:
            continue
        out.append(text[copied : match.start() - len(head)])
        out.append(joined)
        copied = match.end()
    if not out:
        return text
    out.append(text[copied:])
    return "".join(out)


def fenced_blocks(text: str) -> Iterator[tuple[bool, str]]:
    """(is code, text) runs; a fence line belongs to its code block."""
    lines = text.split("\n")
    block: list[str] = []
    in_code = False
    for index, line in enumerate(lines):
        last = index == len(lines) - 1
        piece = line if last else line + "\n"
        if FENCE.match(line):
            if not in_code:
                if block:
                    yield False, "".join(block)
                block = [piece]
                in_code = True
            else:
                block.append(piece)
                yield True, "".join(block)
                block = []
                in_code = False
            continue
        block.append(piece)
    if block:
        yield in_code, "".join(block)
