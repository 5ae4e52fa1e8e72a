"""Celery tasks: thin adapters from a message to the processor."""

from collections.abc import Callable

from celery import Celery, Task

from docqueue import names
from docqueue_worker.context import WorkerContext

# Celery's own retry counter is only a backstop; the job's `attempts` decides (see processor).
CELERY_MAX_RETRIES = 100


def register_tasks(app: Celery, context: Callable[[], WorkerContext]) -> None:
    @app.task(name=names.PROCESS_DOCUMENT, bind=True, max_retries=CELERY_MAX_RETRIES)
    def process_document(self: Task[[str], None], task_id: str) -> None:
        outcome = context().processor.process(task_id)
        if outcome.retry_in_s is not None:
            raise self.retry(countdown=outcome.retry_in_s)
