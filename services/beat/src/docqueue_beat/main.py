"""The beat process's Celery app: schedules with RedBeat and runs the maintenance queue."""

from docqueue.celery_app import create_celery_app
from docqueue_beat.context import BeatContextHolder
from docqueue_beat.schedule import beat_config
from docqueue_beat.settings import BeatSettings
from docqueue_beat.tasks import register_tasks

settings = BeatSettings()
app = create_celery_app(settings, main="docqueue_beat")
app.conf.update(beat_config(settings))
register_tasks(app, BeatContextHolder(settings))
