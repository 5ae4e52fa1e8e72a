"""What an upload answers."""

from pydantic import BaseModel

from docqueue.jobs.model import JobState


class Accepted(BaseModel):
    """The task created for an upload (or the existing one, when `deduplicated`)."""

    task_id: str
    state: JobState
    status_url: str
    result_url: str
    events_url: str
    deduplicated: bool
