"""Task and queue names. Each is written once, here: the API enqueues by name and never imports
worker code, so a typo on either side would be a silent dead queue."""

from typing import Final

# Queues (Redis lists). KEDA scales the worker on the length of DOCUMENTS_QUEUE.
DOCUMENTS_QUEUE: Final = "documents"
CALLBACKS_QUEUE: Final = "callbacks"
MAINTENANCE_QUEUE: Final = "maintenance"

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
