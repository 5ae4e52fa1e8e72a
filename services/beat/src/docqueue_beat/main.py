"""The beat process's Celery app: schedules with RedBeat and runs the maintenance queue."""

from celery.signals import setup_logging

from docqueue.celery_app import create_celery_app
from docqueue.logging_config import configure_logging
from docqueue.metrics_queues import stamp_publish_time
from docqueue.settings import load_settings, log_connections
from docqueue.telemetry import setup_tracing
from docqueue_beat.context import BeatContextHolder
from docqueue_beat.schedule import beat_config
from docqueue_beat.settings import BeatSettings
from docqueue_beat.tasks import register_tasks

settings = load_settings(BeatSettings, "docqueue-beat")
# Now, not only when Celery sets logging up: its start-up warnings already go through ours.
configure_logging(settings.log_level, settings.log_format, service="beat")
log_connections(settings)
app = create_celery_app(settings, main="docqueue_beat")
app.conf.update(beat_config(settings))
register_tasks(app, BeatContextHolder(settings))
# Re-enqueued jobs carry their publish time (queue age) and their trace context.
stamp_publish_time()
setup_tracing("docqueue-beat")


@setup_logging.connect
def _setup_logging(**_: object) -> None:
    # Celery configures no logging of its own when this signal has a receiver.
    configure_logging(settings.log_level, settings.log_format, service="beat")
