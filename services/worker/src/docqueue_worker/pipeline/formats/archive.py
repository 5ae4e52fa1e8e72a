"""Zip-based documents (DOCX, PPTX, XLSX, ODT, EPUB) are checked before any part is parsed:
entry count, unpacked size and compression ratio (zip bombs), and no XML part may declare
entities (billion laughs, external entities: OOXML, ODF and EPUB packages never need one).
The parsers are safe on their own too (lxml with resolve_entities=False in python-docx/pptx,
defusedxml in openpyxl and ours); the check turns a hostile part into a clear refusal instead of
silently missing text. HTML chapters are parsed as HTML5, which reads no DTD at all."""

import re
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from docqueue.errors import DocumentError, ErrorCode
from docqueue.settings import Settings

MIB = 1024 * 1024
# The ratio cap applies to entries that unpack to more than this (tiny entries compress oddly).
RATIO_FLOOR_BYTES = MIB
# Entity declarations come before the root element; this much of each XML part is looked at.
PROLOG_BYTES = 64 * 1024
PROLOG_STEP_BYTES = 1024
_ROOT_ELEMENT = re.compile(rb"<[A-Za-z_]")
# An internal DTD subset (`<!DOCTYPE x [ ... ]>`) or an entity declaration anywhere before the root.
_ENTITIES = re.compile(rb"<!ENTITY|<!DOCTYPE[^>\[]*\[", re.I)
# The parts parsed as XML (HTML and XHTML chapters are parsed as HTML5; NCX is never read).
_XML_SUFFIXES = (".xml", ".rels", ".opf")


@dataclass(frozen=True)
class ArchiveLimits:
    max_entries: int
    max_unpacked_bytes: int
    max_ratio: int

    @classmethod
    def of(cls, settings: Settings) -> "ArchiveLimits":
        return cls(settings.max_archive_entries, settings.max_unpacked_bytes, settings.max_compression_ratio)


def open_archive(stream: BinaryIO, limits: ArchiveLimits, kind: str) -> zipfile.ZipFile:
    """The document's zip, once its directory shows nothing hostile; `stream` is rewound so a
    library can open it again."""
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise DocumentError(ErrorCode.CORRUPT_DOCUMENT, f"the {kind} is not a readable zip: {exc}") from exc
    try:
        check_archive(archive, limits, kind)
    except BaseException:
        archive.close()
        raise
    stream.seek(0)
    return archive


def check_archive(archive: zipfile.ZipFile, limits: ArchiveLimits, kind: str) -> None:
    entries = archive.infolist()
    if len(entries) > limits.max_entries:
        raise _too_complex(
            kind,
            f"{len(entries)} zip entries; the limit is {limits.max_entries} (DOCQUEUE_MAX_ARCHIVE_ENTRIES)",
        )
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > limits.max_unpacked_bytes:
        raise _too_complex(
            kind,
            f"it unpacks to {unpacked} bytes; the limit is {limits.max_unpacked_bytes} "
            "(DOCQUEUE_MAX_UNPACKED_BYTES)",
        )
    for entry in entries:
        if entry.file_size > RATIO_FLOOR_BYTES and entry.file_size > limits.max_ratio * max(
            entry.compress_size, 1
        ):
            raise _too_complex(
                kind,
                f"{entry.filename} unpacks {entry.file_size // max(entry.compress_size, 1)}x; "
                f"the limit is {limits.max_ratio}x (DOCQUEUE_MAX_COMPRESSION_RATIO)",
            )
        if entry.filename.lower().endswith(_XML_SUFFIXES) and _declares_entities(archive, entry):
            raise _too_complex(
                kind, f"{entry.filename} declares XML entities; they are never expanded or fetched"
            )


def read_entry(archive: zipfile.ZipFile, name: str, kind: str) -> bytes:
    """One entry's bytes (its size was bounded by check_archive); a missing one is corrupt."""
    try:
        return archive.read(name)
    except KeyError as exc:
        raise DocumentError(ErrorCode.CORRUPT_DOCUMENT, f"the {kind} has no {name}") from exc
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise DocumentError(ErrorCode.CORRUPT_DOCUMENT, f"the {kind}'s {name} cannot be read: {exc}") from exc


def _declares_entities(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> bool:
    window = b""
    root = None
    try:
        with archive.open(entry) as part:
            # Read a little at a time: the root element usually comes within the first 100 bytes.
            while len(window) < PROLOG_BYTES:
                more = part.read(PROLOG_STEP_BYTES)
                window += more
                root = _ROOT_ELEMENT.search(window)
                if root is not None or not more:
                    break
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise DocumentError(ErrorCode.CORRUPT_DOCUMENT, f"{entry.filename} cannot be read: {exc}") from exc
    prolog = window[: root.start()] if root else window
    return _ENTITIES.search(prolog) is not None


def _too_complex(kind: str, why: str) -> DocumentError:
    return DocumentError(ErrorCode.DOCUMENT_TOO_COMPLEX, f"the {kind} exceeds a parsing limit: {why}")
