"""Checks every PDF engine applies the same way, so a document gets the same code from either."""

from docqueue.errors import DocumentError, ErrorCode

# Metadata values longer than this are cut: they are display fields, and a hostile file may
# carry megabytes in one.
METADATA_MAX_CHARS = 500


def check_page_count(page_count: int, max_pages: int) -> None:
    if page_count == 0:
        raise DocumentError(ErrorCode.EMPTY_DOCUMENT, "the document has no pages")
    if page_count > max_pages:
        raise DocumentError(
            ErrorCode.TOO_MANY_PAGES, f"the document has {page_count} pages; the limit is {max_pages}"
        )


def clean_metadata(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value[:METADATA_MAX_CHARS] or None
