"""The URLs an answer gives for a task.

One route lookup per task, not three: `url_for` walks the route table each time, and the status
read and the upload are the API's hottest paths. The result and events routes live under the status
route (a test holds them to `url_for`), and `url_for` keeps the root path behind an ingress prefix.
"""

from dataclasses import dataclass

from starlette.requests import Request


@dataclass(frozen=True)
class TaskLinks:
    status_url: str
    result_url: str
    events_url: str


def task_links(request: Request, task_id: str) -> TaskLinks:
    status_url = str(request.url_for("tasks_get", task_id=task_id))
    return TaskLinks(status_url, f"{status_url}/result", f"{status_url}/events")
