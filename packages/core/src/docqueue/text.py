"""Redis answers bytes; docqueue works in str."""

from typing import Any


def as_text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
