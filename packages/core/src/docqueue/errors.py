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
    # permanent: a `source_url` the worker fetches cannot give the document (docqueue.sources)
    SOURCE_REFUSED = "source_refused"  # breaks the URL rules, at once or after a redirect
    SOURCE_UNRESOLVABLE = "source_unresolvable"  # the host has no address
    SOURCE_NOT_FOUND = "source_not_found"  # 404 or 410; no such S3 object or bucket
    SOURCE_FORBIDDEN = "source_forbidden"  # 401, 403 or 407; S3 access denied
    SOURCE_TOO_LARGE = "source_too_large"  # more bytes than DOCQUEUE_MAX_UPLOAD_BYTES
    SOURCE_TIMEOUT = "source_timeout"  # still streaming after DOCQUEUE_SOURCE_MAX_FETCH_S
    SOURCE_FAILED = "source_failed"  # any other final answer (400, 405, 501...)
    # operational: the system gave up
    TIMEOUT = "timeout"
    WORKER_LOST = "worker_lost"
    RETRIES_EXHAUSTED = "retries_exhausted"
    INTERNAL_ERROR = "internal_error"
    # the caller asked
    CANCELLED = "cancelled"


class ProblemCode(StrEnum):
    """Stable machine codes on the API's problem+json answers (`code`), one per refusal.

    They differ from `ErrorCode` on purpose where the API and a task judge different things: the
    API's `unsupported_media_type` / `empty_file` answer an upload at once (415 / 400, nothing is
    queued), while a task's `unsupported_type` / `empty_document` end a job whose bytes passed the
    API's sniff but not the worker's reader (an empty PDF page tree, say).
    """

    BAD_REQUEST = "bad_request"
    BATCH_NOT_FOUND = "batch_not_found"
    CLIENT_DISCONNECTED = "client_disconnected"
    DEAD_LETTER_NOT_FOUND = "dead_letter_not_found"
    DUPLICATE_FIELD = "duplicate_field"
    EMPTY_FILE = "empty_file"
    FIELD_TOO_LARGE = "field_too_large"
    FORBIDDEN = "forbidden"
    HTTP_ERROR = "http_error"
    IDEMPOTENCY_IN_PROGRESS = "idempotency_in_progress"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    INTERNAL_ERROR = "internal_error"
    INVALID_CALLBACK_URL = "invalid_callback_url"
    INVALID_CURSOR = "invalid_cursor"
    INVALID_SOURCE_URL = "invalid_source_url"
    INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key"
    INVALID_LAST_EVENT_ID = "invalid_last_event_id"
    INVALID_MULTIPART = "invalid_multipart"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    MISSING_FILE = "missing_file"
    NOT_FOUND = "not_found"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    QUEUE_FULL = "queue_full"
    RATE_LIMITED = "rate_limited"
    REDIS_UNAVAILABLE = "redis_unavailable"
    RESULT_DELETED = "result_deleted"
    RESULT_EXPIRED = "result_expired"
    SERVICE_UNAVAILABLE = "service_unavailable"
    TASK_NOT_CANCELLABLE = "task_not_cancellable"
    TASK_NOT_DEAD_LETTERED = "task_not_dead_lettered"
    TASK_NOT_FINISHED = "task_not_finished"
    TASK_NOT_FOUND = "task_not_found"
    TASK_NOT_SUCCEEDED = "task_not_succeeded"
    TOO_MANY_FILES = "too_many_files"
    TOO_MANY_MEMBERS = "too_many_members"
    TOO_MANY_PAGES_IN_FLIGHT = "too_many_pages_in_flight"
    TOO_MANY_PARTS = "too_many_parts"
    TOO_MANY_STREAMS = "too_many_streams"
    UNAUTHORIZED = "unauthorized"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    VALIDATION_ERROR = "validation_error"


PERMANENT_CODES = frozenset(
    {
        ErrorCode.UNSUPPORTED_TYPE,
        ErrorCode.EMPTY_DOCUMENT,
        ErrorCode.CORRUPT_DOCUMENT,
        ErrorCode.ENCRYPTED_DOCUMENT,
        ErrorCode.TOO_MANY_PAGES,
        ErrorCode.DOCUMENT_TOO_COMPLEX,
        ErrorCode.SOURCE_REFUSED,
        ErrorCode.SOURCE_UNRESOLVABLE,
        ErrorCode.SOURCE_NOT_FOUND,
        ErrorCode.SOURCE_FORBIDDEN,
        ErrorCode.SOURCE_TOO_LARGE,
        ErrorCode.SOURCE_TIMEOUT,
        ErrorCode.SOURCE_FAILED,
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
