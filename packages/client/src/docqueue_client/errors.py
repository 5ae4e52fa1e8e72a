"""Typed errors from the API's problem+json answers (RFC 9457): catch the class, read `code`."""

import contextlib
from typing import Any


class DocqueueError(Exception):
    """An error answer from docqueue; `code` is the stable machine code of the problem."""

    def __init__(self, status: int, code: str, detail: str, problem: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.problem = problem or {}


class InvalidRequest(DocqueueError):
    """400 or 422: the request itself is wrong (e.g. `invalid_callback_url`); `problem["errors"]`
    says which field."""


class AuthError(DocqueueError):
    """401 or 403: the key is missing, wrong, or lacks a scope."""


class NotFound(DocqueueError):
    """404: no such task for this key's tenant."""


class Conflict(DocqueueError):
    """409: e.g. the result of a task that has not succeeded."""


class Gone(DocqueueError):
    """410: the result was deleted on request (`result_deleted`)."""


class TooLarge(DocqueueError):
    """413: the file is over the server's size cap."""


class UnsupportedType(DocqueueError):
    """415: the bytes are not a PDF, text or Markdown file."""


class RateLimited(DocqueueError):
    """429: slow down; `retry_after_s` says for how long."""

    retry_after_s: float = 1.0


class Unavailable(DocqueueError):
    """503: docqueue cannot take work right now; try again after `retry_after_s`."""

    retry_after_s: float = 5.0


class TaskFailed(Exception):
    """A waited-for task ended in a state other than succeeded; `task` is its final status."""

    def __init__(self, task: Any) -> None:
        error = task.error or {}
        super().__init__(f"task {task.task_id} {task.state}: {error.get('code')}: {error.get('message')}")
        self.task = task


class EventsUnavailable(Exception):
    """The live event stream could not be used (an old server, a proxy that buffers or cuts it,
    too many open streams); `wait()` falls back to polling."""


_BY_STATUS: dict[int, type[DocqueueError]] = {
    400: InvalidRequest,
    401: AuthError,
    403: AuthError,
    404: NotFound,
    409: Conflict,
    410: Gone,
    413: TooLarge,
    415: UnsupportedType,
    422: InvalidRequest,
    429: RateLimited,
    503: Unavailable,
}


def error_from_response(status: int, body: Any, retry_after: str | None) -> DocqueueError:
    problem = body if isinstance(body, dict) else {}
    cls = _BY_STATUS.get(status, DocqueueError)
    error = cls(status, str(problem.get("code", "http_error")), str(problem.get("detail", body)), problem)
    if retry_after is not None and isinstance(error, RateLimited | Unavailable):
        with contextlib.suppress(ValueError):
            error.retry_after_s = float(retry_after)
    return error
