"""Client filenames are metadata: kept for display, never used to build a path."""

import unicodedata

MAX_FILENAME_CHARS = 255
FALLBACK_NAME = "document"


def display_filename(raw: str) -> str:
    """The last path component, without control, format (bidi) or separator characters, capped."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in name if unicodedata.category(ch)[0] not in ("C", "Z") or ch == " ")
    cleaned = cleaned.strip(" .")
    return cleaned[:MAX_FILENAME_CHARS] or FALLBACK_NAME
