"""The worker's process-wide Celery app: `celery -A docqueue_worker.main worker`."""

from celery.signals import setup_logging, worker_process_init

from docqueue.celery_app import create_celery_app
from docqueue.logging_config import configure_logging
from docqueue.settings import load_settings, log_connections
from docqueue.telemetry import setup_tracing
from docqueue_worker.context import ContextHolder
from docqueue_worker.limits import cap_memory
from docqueue_worker.liveness import install_liveness
from docqueue_worker.observability import install_worker_signals
from docqueue_worker.settings import WorkerSettings
from docqueue_worker.tasks import register_tasks

settings = load_settings(WorkerSettings, "docqueue-worker")
# Now, not only when Celery sets logging up: its start-up warnings already go through ours.
configure_logging(settings.log_level, settings.log_format, service="worker")
log_connections(settings)
app = create_celery_app(settings, main="docqueue_worker")
context = ContextHolder(settings, app)
register_tasks(app, context)
# The kubelet's liveness probe reads the heartbeat this consumer step writes (see liveness.py).
install_liveness(app)
# Metrics, traces and log fields (see observability.py); tracing before the pool forks.
install_worker_signals(settings, settings.metrics_port, settings.metrics_address)
setup_tracing("docqueue-worker")


@setup_logging.connect
def _setup_logging(**_: object) -> None:
    # Celery configures no logging of its own when this signal has a receiver.
    configure_logging(settings.log_level, settings.log_format, service="worker")


@worker_process_init.connect
def _init_pool_process(**_: object) -> None:
    cap_memory(settings.max_memory_mb)
