"""What an upload answers."""

from pydantic import BaseModel

from docqueue.jobs.model import JobState
from docqueue_api.tasks.schemas import TaskView


class Accepted(BaseModel):
    """The task created for an upload (or the existing one, when `deduplicated`)."""

    task_id: str
    state: JobState
    status_url: str
    result_url: str
    events_url: str
    deduplicated: bool


class Finished(TaskView):
    """An upload sent with `Prefer: wait=N` whose task ended within N seconds: its full status,
    as `GET /v1/tasks/{task_id}` shows it, plus whether the upload was a duplicate."""

    deduplicated: bool
