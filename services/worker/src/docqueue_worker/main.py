"""The worker's process-wide Celery app: `celery -A docqueue_worker.main worker`."""

from docqueue.celery_app import create_celery_app
from docqueue_worker.context import ContextHolder
from docqueue_worker.settings import WorkerSettings
from docqueue_worker.tasks import register_tasks

settings = WorkerSettings()
app = create_celery_app(settings, main="docqueue_worker")
context = ContextHolder(settings)
register_tasks(app, context)
