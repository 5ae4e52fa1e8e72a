"""What an upload really is, decided from its bytes; the client's content type and filename are
never trusted for that (a filename only picks Markdown over plain text once the bytes are text)."""

from enum import StrEnum

# How much of the start of an upload the sniffer looks at.
SNIFF_BYTES = 8192
# PDF readers accept a header anywhere in the first KiB; so do we.
PDF_HEADER_WINDOW = 1024
_CONTROL_OK = {0x09, 0x0A, 0x0C, 0x0D, 0x1B}
_MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd")


class MediaType(StrEnum):
    PDF = "application/pdf"
    TEXT = "text/plain"
    MARKDOWN = "text/markdown"
    PNG = "image/png"
    JPEG = "image/jpeg"
    TIFF = "image/tiff"
    WEBP = "image/webp"


# Images are documents too: each frame a page, read by OCR.
IMAGE_TYPES = frozenset({MediaType.PNG, MediaType.JPEG, MediaType.TIFF, MediaType.WEBP})
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", MediaType.PNG),
    (b"\xff\xd8\xff", MediaType.JPEG),
    (b"II*\x00", MediaType.TIFF),
    (b"MM\x00*", MediaType.TIFF),
)


def sniff(head: bytes, filename: str = "") -> MediaType | None:
    """The media type of an upload from its first bytes, or None if docqueue cannot read it."""
    if b"%PDF-" in head[:PDF_HEADER_WINDOW]:
        return MediaType.PDF
    for magic, media_type in _IMAGE_MAGIC:
        if head.startswith(magic):
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MediaType.WEBP
    if not looks_like_text(head):
        return None
    if filename.lower().endswith(_MARKDOWN_SUFFIXES):
        return MediaType.MARKDOWN
    return MediaType.TEXT


def looks_like_text(head: bytes) -> bool:
    """UTF-8 (a multi-byte character may be cut at the end) without NULs or binary control bytes."""
    if not head or b"\x00" in head:
        return False
    for cut in range(4):
        try:
            text = head[: len(head) - cut].decode("utf-8")
            break
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:
                return False
    else:
        return False
    controls = sum(1 for ch in text if ord(ch) < 0x20 and ord(ch) not in _CONTROL_OK)
    return controls * 100 <= len(text)
