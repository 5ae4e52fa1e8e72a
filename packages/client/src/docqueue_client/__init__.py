"""Python client and `docqueue` CLI for the docqueue API.

    from docqueue_client import Client

    with Client() as dq:  # DOCQUEUE_URL and DOCQUEUE_API_KEY
        task = dq.submit("report.pdf")
        final = task.wait(on_progress=lambda s: print(f"{s.percent:.0f}% {s.stage}"))
        print(final.state, len(task.result()["chunks"]))

        batch = dq.batches.submit(["a.pdf", "b.docx"], urls=["https://example.com/c.pdf"])
        print(batch.wait().counts)

`AsyncClient` offers the same for asyncio code. Errors are typed from the API's problem+json:
`NotFound`, `AuthError`, `InvalidRequest`, `Conflict`, `Gone`, `TooLarge`, `UnsupportedType`,
`RateLimited`, `Unavailable`, all `DocqueueError` with the stable `code`.
"""

from docqueue_client.aio import AsyncClient, AsyncTask
from docqueue_client.batches import Batch, Batches
from docqueue_client.client import Client, Task
from docqueue_client.errors import (
    AuthError,
    Conflict,
    DocqueueError,
    EventsUnavailable,
    Gone,
    InvalidRequest,
    NotFound,
    RateLimited,
    TaskFailed,
    TooLarge,
    Unavailable,
    UnsupportedType,
)
from docqueue_client.models import Accepted, BatchStatus, TaskStatus

__all__ = [
    "Accepted",
    "AsyncClient",
    "AsyncTask",
    "AuthError",
    "Batch",
    "BatchStatus",
    "Batches",
    "Client",
    "Conflict",
    "DocqueueError",
    "EventsUnavailable",
    "Gone",
    "InvalidRequest",
    "NotFound",
    "RateLimited",
    "Task",
    "TaskFailed",
    "TaskStatus",
    "TooLarge",
    "Unavailable",
    "UnsupportedType",
]
