"""The worker's process-wide Celery app: `celery -A docqueue_worker.main worker`."""

from celery.signals import worker_process_init

from docqueue.celery_app import create_celery_app
from docqueue_worker.context import ContextHolder
from docqueue_worker.limits import cap_memory
from docqueue_worker.liveness import install_liveness
from docqueue_worker.settings import WorkerSettings
from docqueue_worker.tasks import register_tasks

settings = WorkerSettings()
app = create_celery_app(settings, main="docqueue_worker")
context = ContextHolder(settings, app)
register_tasks(app, context)
# The kubelet's liveness probe reads the heartbeat this consumer step writes (see liveness.py).
install_liveness(app)


@worker_process_init.connect
def _init_pool_process(**_: object) -> None:
    cap_memory(settings.max_memory_mb)
