"""Python client and `docqueue` CLI for the docqueue API."""

from docqueue_client.client import Client
from docqueue_client.errors import (
    AuthError,
    Conflict,
    DocqueueError,
    NotFound,
    RateLimited,
    TaskFailed,
    Unavailable,
)
from docqueue_client.models import Accepted, Task

__all__ = [
    "Accepted",
    "AuthError",
    "Client",
    "Conflict",
    "DocqueueError",
    "NotFound",
    "RateLimited",
    "Task",
    "TaskFailed",
    "Unavailable",
]
