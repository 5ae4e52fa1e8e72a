"""Dead letters: deliveries the system gave up on, kept in a Redis stream for inspection and replay.

Entries are written by the job transition that dead-letters the job (see jobs/scripts.py), so the
job state and its dead letter never disagree. This module reads them.
"""

import json
from typing import Any

from pydantic import BaseModel, Field

from docqueue.text import as_text


class DeadLetter(BaseModel):
    """One given-up delivery: enough to understand it and to replay it."""

    entry_id: str
    task_id: str
    task_name: str
    tenant: str
    args: list[Any] = Field(default_factory=list)
    error_code: str
    error_message: str
    traceback: str = ""
    attempts: int = 0
    history: list[dict[str, Any]] = Field(default_factory=list)
    dead_lettered_at: float

    @classmethod
    def from_entry(cls, entry_id: Any, fields: Any) -> "DeadLetter":
        """Parse one stream entry as redis-py returns it."""
        decoded = {as_text(k): as_text(v) for k, v in (fields or {}).items()}
        return cls.model_validate(
            {
                **decoded,
                "entry_id": as_text(entry_id),
                "args": json.loads(decoded.get("args", "[]")),
                "history": json.loads(decoded.get("history", "[]")),
            }
        )


def dead_letter_fields(
    task_name: str, args: list[Any], code: str, message: str, trace: str
) -> dict[str, str]:
    """What the caller knows of a dead letter; the job transition adds tenant, attempts, history."""
    return {
        "task_name": task_name,
        "args": json.dumps(args),
        "error_code": code,
        "error_message": message,
        "traceback": trace,
    }
