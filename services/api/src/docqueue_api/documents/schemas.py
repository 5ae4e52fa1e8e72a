"""What an upload answers."""

from typing import Any

from pydantic import BaseModel, model_validator

from docqueue.jobs.model import JobState


class Accepted(BaseModel):
    """The task created for an upload (or the existing one, when `deduplicated`)."""

    task_id: str
    state: JobState
    status_url: str
    result_url: str
    events_url: str
    deduplicated: bool

    @model_validator(mode="before")
    @classmethod
    def _events_url_of_older_answers(cls, data: Any) -> Any:
        # Idempotency-Key answers stored before events_url existed are replayed as they were.
        if isinstance(data, dict) and "events_url" not in data and "status_url" in data:
            return {**data, "events_url": f"{data['status_url']}/events"}
        return data
