"""The API's settings: the shared ones plus HTTP limits."""

from pydantic import Field

from docqueue.settings import Settings


class ApiSettings(Settings):
    """`DOCQUEUE_*` settings of an API process."""

    # Parts in one multipart upload (the file and a few option fields).
    max_parts: int = Field(default=8, ge=2)
    # Bytes in one non-file form field.
    max_field_bytes: int = Field(default=2048, ge=64)
    # Seconds an API key lookup is cached in-process; a revoked key stops working after this.
    api_key_cache_s: float = Field(default=10.0, ge=0)
    # Uploads are refused (503 + Retry-After) while this many messages wait in the documents queue.
    max_queue_depth: int = Field(default=10_000, ge=1)
