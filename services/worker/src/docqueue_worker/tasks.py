"""Celery tasks: thin adapters from a message to the processor."""

from collections.abc import Callable
from typing import Any

from celery import Celery, Task
from celery.worker import state as worker_state
from celery.worker.request import Request

from docqueue import names
from docqueue_worker.context import WorkerContext

# Celery's own retry counter is only a backstop; the job's `attempts` decides (see processor).
CELERY_MAX_RETRIES = 100


def request_class(context: Callable[[], WorkerContext]) -> type[Request]:
    class DocumentRequest(Request):
        """Runs in the worker's main process. A hard time limit kills the pool process before
        the task can record anything, and not every Celery version fires `task_failure` for it,
        so the dead letter is written here."""

        def on_timeout(self, soft: bool, timeout: float) -> None:
            super().on_timeout(soft, timeout)
            # During a cold shutdown the kill is ours and the message is re-queued: not a failure.
            if not soft and not worker_state.should_terminate:
                # A part's message id names its job (names.part_message_id).
                context().processor.dead_letter_timeout(names.job_of_message(self.id), timeout)

    return DocumentRequest


def register_tasks(app: Celery, context: Callable[[], WorkerContext]) -> None:
    @app.task(
        name=names.PROCESS_DOCUMENT,
        bind=True,
        max_retries=CELERY_MAX_RETRIES,
        Request=request_class(context),
    )
    def process_document(self: Task[[str], None], task_id: str) -> Any:
        outcome = context().processor.process(task_id)
        if outcome.retry_in_s is not None:
            raise self.retry(countdown=outcome.retry_in_s)

    @app.task(
        name=names.PROCESS_PART,
        bind=True,
        max_retries=CELERY_MAX_RETRIES,
        Request=request_class(context),
    )
    def process_part(self: Task[[str, str, int], None], task_id: str, run_id: str, index: int) -> Any:
        outcome = context().parts.process(task_id, run_id, index)
        if outcome.retry_in_s is not None:
            raise self.retry(countdown=outcome.retry_in_s)

    @app.task(name=names.DELIVER_WEBHOOK, bind=True, max_retries=CELERY_MAX_RETRIES)
    def deliver_webhook(
        self: Task[[str, dict[str, str], float], None], task_id: str, job: dict[str, str], enqueued_at: float
    ) -> Any:
        # The sender bounds the retries by time (webhook_max_delivery_s), not by count.
        retry_in_s = context().webhooks.deliver(task_id, job, enqueued_at, attempt=self.request.retries + 1)
        if retry_in_s is not None:
            raise self.retry(countdown=retry_in_s)

    @app.task(name=names.DELIVER_BATCH_WEBHOOK, bind=True, max_retries=CELERY_MAX_RETRIES)
    def deliver_batch_webhook(self: Task[[str, float], None], batch_id: str, enqueued_at: float) -> Any:
        retry_in_s = context().webhooks.deliver_batch(batch_id, enqueued_at, attempt=self.request.retries + 1)
        if retry_in_s is not None:
            raise self.retry(countdown=retry_in_s)
