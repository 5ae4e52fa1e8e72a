"""What admins read about dead letters."""

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from docqueue.dead_letters import DeadLetter


class DeadLetterView(BaseModel):
    """A delivery the system gave up on: its error, traceback and every attempt."""

    task_id: str
    task_name: str
    error_code: str
    error_message: str
    traceback: str
    attempts: int
    history: list[dict[str, Any]]
    dead_lettered_at: datetime

    @classmethod
    def of(cls, letter: DeadLetter) -> "DeadLetterView":
        return cls(
            task_id=letter.task_id,
            task_name=letter.task_name,
            error_code=letter.error_code,
            error_message=letter.error_message,
            traceback=letter.traceback,
            attempts=letter.attempts,
            history=letter.history,
            dead_lettered_at=datetime.fromtimestamp(letter.dead_lettered_at, tz=UTC),
        )


class DeadLetterPage(BaseModel):
    """Newest first; pass `next_cursor` as `cursor` for the next page."""

    items: list[DeadLetterView]
    next_cursor: str | None


class Purged(BaseModel):
    purged: int
