"""The worker's settings: the shared ones plus how this process consumes."""

from pydantic import Field

from docqueue import names
from docqueue.settings import Settings


class WorkerSettings(Settings):
    """`DOCQUEUE_*` settings of a worker process."""

    # Queues this worker consumes, comma-separated.
    queues: str = f"{names.DOCUMENTS_QUEUE},{names.BULK_QUEUE},{names.WEBHOOKS_QUEUE}"
    # Pool processes (or threads with --pool threads): documents processed at once.
    concurrency: int = Field(default=2, ge=1)
    # Address-space cap of each pool process, so a decompression bomb costs one task (it ends
    # `failed` / `document_too_complex`), not the worker. 0 disables the cap.
    max_memory_mb: int = Field(default=1536, ge=0)
    # Port and address the worker's main process serves Prometheus metrics on, summed over its pool
    # processes (multiprocess mode, see docqueue.metrics_server). Port 0 serves none.
    metrics_port: int = Field(default=9100, ge=0, le=65535)
    # The address the metrics port listens on.
    metrics_address: str = "0.0.0.0"  # noqa: S104 - scraped by Prometheus from other hosts
