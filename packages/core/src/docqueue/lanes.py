"""Which lane a document waits in, and publishing it there.

Two queues carry `documents.process`: `documents` (interactive) and `documents.bulk`. An upload
of `bulk_min_bytes` or more goes to the bulk lane; anything smaller to the interactive one, so a
two-page PDF dropped into a chat does not wait behind a folder of scans. A worker consuming both
takes interactive work first: kombu's Redis transport asks for messages with one BRPOP over its
queues, which answers from the first non-empty list in the order given, and docqueue sets
kombu's `queue_order_strategy` to `priority` so that order stays the one in DOCQUEUE_QUEUES
(kombu's default, `round_robin`, rotates it after every message). With one message prefetched
per process (`worker_prefetch_multiplier=1`), a small upload waits at most for the documents
already running. Every publisher (the upload, a batch, the dead-letter replay, beat's
reconciler) picks the lane here, from the job's size, so a re-queued job goes back to the lane it
came from. A document the worker fetches from a `source_url` has no size until it is fetched, and
its fetch takes as long as the source's server does: it waits in the bulk lane (a re-queue after
the fetch goes by the size it recorded). The parts of a split document (docqueue.jobs.parts)
always wait in the bulk lane.
"""

from typing import Any

from celery import Celery

from docqueue import names
from docqueue.jobs.model import Job
from docqueue.settings import Settings


def document_queue(size_bytes: int, settings: Settings) -> str:
    if settings.bulk_min_bytes and size_bytes >= settings.bulk_min_bytes:
        return names.BULK_QUEUE
    return names.DOCUMENTS_QUEUE


def job_queue(job: Job, settings: Settings) -> str:
    """The lane of a job's document: by its size, or the bulk lane for a source not fetched yet."""
    if job.source_url and not job.size_bytes:
        return part_queue(settings)
    return document_queue(job.size_bytes, settings)


def part_queue(settings: Settings) -> str:
    """Parts of a split document wait in the bulk lane (the only lane when there is one)."""
    return names.BULK_QUEUE if settings.bulk_min_bytes else names.DOCUMENTS_QUEUE


def publish_part(app: Celery, task_id: str, run_id: str, index: int, settings: Settings) -> None:
    queue = part_queue(settings)
    app.send_task(
        names.PROCESS_PART,
        args=[task_id, run_id, index],
        task_id=names.part_message_id(task_id, index),
        queue=queue,
        exchange=queue,
        routing_key=queue,
    )


def publish_document(app: Celery, job: Job, settings: Settings, **options: Any) -> None:
    queue = job_queue(job, settings)
    app.send_task(
        names.PROCESS_DOCUMENT,
        args=[job.task_id],
        task_id=job.task_id,
        queue=queue,
        exchange=queue,
        routing_key=queue,
        **options,
    )
