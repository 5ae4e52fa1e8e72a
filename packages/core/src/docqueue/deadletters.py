"""The dead-letter stream: deliveries the system gave up on, kept for inspection and replay."""

import json
import time
from typing import Any

import redis
from pydantic import BaseModel, Field

from docqueue.jobs import keys
from docqueue.text import as_text

# Entries kept in the stream at most; the oldest are trimmed beyond this.
DEAD_LETTERS_MAXLEN = 100_000


class DeadLetter(BaseModel):
    """One given-up delivery: enough to understand it and to replay it."""

    task_id: str
    task_name: str
    tenant: str
    args: list[Any] = Field(default_factory=list)
    error_code: str
    error_message: str
    traceback: str = ""
    attempts: int = 0
    history: list[dict[str, Any]] = Field(default_factory=list)
    dead_lettered_at: float = Field(default_factory=time.time)

    def to_fields(self) -> dict[str, str]:
        raw = self.model_dump(mode="json")
        return {key: value if isinstance(value, str) else json.dumps(value) for key, value in raw.items()}

    @classmethod
    def from_fields(cls, fields: dict[Any, Any]) -> "DeadLetter":
        decoded = {as_text(k): as_text(v) for k, v in fields.items()}
        for key in ("args", "history", "attempts", "dead_lettered_at"):
            if key in decoded:
                decoded[key] = json.loads(decoded[key])
        return cls.model_validate(decoded)


def add_dead_letter(client: redis.Redis, letter: DeadLetter) -> str:
    fields: dict[Any, Any] = dict(letter.to_fields())
    entry_id = client.xadd(keys.DEAD_LETTERS, fields, maxlen=DEAD_LETTERS_MAXLEN, approximate=True)
    return as_text(entry_id)
