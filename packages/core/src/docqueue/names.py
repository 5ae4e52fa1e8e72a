"""Task and queue names. Each is written once, here: the API enqueues by name and never imports
worker code, so a typo on either side would be a silent dead queue."""

from typing import Final

# Queues (Redis lists). KEDA scales the worker on the lengths of the queues it consumes.
# Documents go to one of two lanes: the interactive one, or, from `bulk_min_bytes` up, the bulk
# one; a worker consuming both takes interactive work first (docqueue.lanes).
DOCUMENTS_QUEUE: Final = "documents"
BULK_QUEUE: Final = "documents.bulk"
DOCUMENT_QUEUES: Final = (DOCUMENTS_QUEUE, BULK_QUEUE)
WEBHOOKS_QUEUE: Final = "callbacks"
MAINTENANCE_QUEUE: Final = "maintenance"
QUEUES: Final = (*DOCUMENT_QUEUES, WEBHOOKS_QUEUE, MAINTENANCE_QUEUE)

# Task names: "<domain>.<verb>".
PROCESS_DOCUMENT: Final = "documents.process"
PROCESS_PART: Final = "documents.process_part"  # one page range of a split document (jobs.parts)
# A task's webhook. Its wire name is the one stored messages carry (a worker of an older release
# would drop a message under a new name during a rolling upgrade).
DELIVER_WEBHOOK: Final = "callbacks.deliver"
# A batch's one webhook, when its last member ended.
DELIVER_BATCH_WEBHOOK: Final = "webhooks.deliver_batch"
APPLY_RETENTION: Final = "maintenance.apply_retention"
RECONCILE_JOBS: Final = "maintenance.reconcile"

TASK_QUEUES: Final[dict[str, str]] = {
    PROCESS_DOCUMENT: DOCUMENTS_QUEUE,
    PROCESS_PART: BULK_QUEUE,
    DELIVER_WEBHOOK: WEBHOOKS_QUEUE,
    DELIVER_BATCH_WEBHOOK: WEBHOOKS_QUEUE,
    APPLY_RETENTION: MAINTENANCE_QUEUE,
    RECONCILE_JOBS: MAINTENANCE_QUEUE,
}


# A part's message id: its job's task id and the part's index. Beat's broker view reads a message's
# job from it (a part waiting or held keeps its job alive for the reconciler).
PART_MESSAGE_SEPARATOR: Final = ".part"


def part_message_id(task_id: str, index: int) -> str:
    return f"{task_id}{PART_MESSAGE_SEPARATOR}{index}"


def job_of_message(message_id: str) -> str:
    """The task id of the job a document or part message works for."""
    return message_id.split(PART_MESSAGE_SEPARATOR, 1)[0]


# A webhook's message id names its subject: `webhook:task:<task id>` or `webhook:batch:<batch id>`.
# It is also the subject's entry in the webhook outbox (keys.WEBHOOKS_DUE), so beat's reconciler
# can tell a webhook whose message is lost from one waiting in the broker.
WEBHOOK_MESSAGE_PREFIX: Final = "webhook:"


def webhook_message_id(kind: str, subject_id: str) -> str:
    return f"{WEBHOOK_MESSAGE_PREFIX}{kind}:{subject_id}"


def is_webhook_message(message_id: str) -> bool:
    return message_id.startswith(WEBHOOK_MESSAGE_PREFIX)
