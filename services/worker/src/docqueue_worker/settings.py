"""The worker's settings: the shared ones plus how this process consumes."""

from pydantic import Field

from docqueue import names
from docqueue.settings import Settings


class WorkerSettings(Settings):
    """`DOCQUEUE_*` settings of a worker process."""

    # Queues this worker consumes, comma-separated.
    queues: str = f"{names.DOCUMENTS_QUEUE},{names.CALLBACKS_QUEUE}"
    concurrency: int = Field(default=2, ge=1)
    # Address-space cap of each pool process, so a decompression bomb costs one task (it ends
    # `failed` / `document_too_complex`), not the worker. 0 disables the cap.
    max_memory_mb: int = Field(default=1536, ge=0)
