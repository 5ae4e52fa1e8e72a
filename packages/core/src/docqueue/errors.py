"""Error codes a job can end with, and the exceptions that carry them through the pipeline."""

from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable machine codes on a task's `error.code`.

    Permanent codes end a job in `failed` (the input can never succeed); operational codes end it
    in `dead_lettered` (the system gave up; an admin can replay it).
    """

    # permanent: the document itself is the problem
    UNSUPPORTED_TYPE = "unsupported_type"
    EMPTY_DOCUMENT = "empty_document"
    CORRUPT_DOCUMENT = "corrupt_document"
    ENCRYPTED_DOCUMENT = "encrypted_document"
    TOO_MANY_PAGES = "too_many_pages"
    DOCUMENT_TOO_COMPLEX = "document_too_complex"
    # operational: the system gave up
    TIMEOUT = "timeout"
    WORKER_LOST = "worker_lost"
    RETRIES_EXHAUSTED = "retries_exhausted"
    INTERNAL_ERROR = "internal_error"
    # the caller asked
    CANCELLED = "cancelled"


PERMANENT_CODES = frozenset(
    {
        ErrorCode.UNSUPPORTED_TYPE,
        ErrorCode.EMPTY_DOCUMENT,
        ErrorCode.CORRUPT_DOCUMENT,
        ErrorCode.ENCRYPTED_DOCUMENT,
        ErrorCode.TOO_MANY_PAGES,
        ErrorCode.DOCUMENT_TOO_COMPLEX,
    }
)


class DocumentError(Exception):
    """The input can never be processed: the job ends `failed` and is never retried."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        if code not in PERMANENT_CODES:
            raise ValueError(f"{code} is not a permanent error code")
        super().__init__(message)
        self.code = code
        self.message = message


class TransientError(Exception):
    """A passing fault (storage or Redis hiccup, lost connection): the job is retried with backoff."""


class JobCancelled(Exception):
    """The caller cancelled the job while it was running; work stops at the next page."""


class LeaseLost(Exception):
    """Another delivery of the same job owns it now; this run must stop without writing anything."""
