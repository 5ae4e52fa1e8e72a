"""Task and queue names. Each is written once, here: the API enqueues by name and never imports
worker code, so a typo on either side would be a silent dead queue."""

from typing import Final

# Queues (Redis lists). KEDA scales the worker on the lengths of the queues it consumes.
# Documents go to one of two lanes: the interactive one, or, from `bulk_min_bytes` up, the bulk
# one; a worker consuming both takes interactive work first (docqueue.lanes).
DOCUMENTS_QUEUE: Final = "documents"
BULK_QUEUE: Final = "documents.bulk"
DOCUMENT_QUEUES: Final = (DOCUMENTS_QUEUE, BULK_QUEUE)
CALLBACKS_QUEUE: Final = "callbacks"
MAINTENANCE_QUEUE: Final = "maintenance"
QUEUES: Final = (*DOCUMENT_QUEUES, CALLBACKS_QUEUE, MAINTENANCE_QUEUE)

# Task names: "<domain>.<verb>".
PROCESS_DOCUMENT: Final = "documents.process"
DELIVER_CALLBACK: Final = "callbacks.deliver"
APPLY_RETENTION: Final = "maintenance.apply_retention"
RECONCILE_JOBS: Final = "maintenance.reconcile"

TASK_QUEUES: Final[dict[str, str]] = {
    PROCESS_DOCUMENT: DOCUMENTS_QUEUE,
    DELIVER_CALLBACK: CALLBACKS_QUEUE,
    APPLY_RETENTION: MAINTENANCE_QUEUE,
    RECONCILE_JOBS: MAINTENANCE_QUEUE,
}
