"""Maintenance tasks: thin adapters over `maintenance/`."""

import time
from collections.abc import Callable

from celery import Celery

from docqueue import names
from docqueue_beat.context import BeatContext
from docqueue_beat.maintenance.retention import apply_retention


def register_tasks(app: Celery, context: Callable[[], BeatContext]) -> None:
    @app.task(name=names.APPLY_RETENTION, max_retries=0)
    def retention() -> int:
        ctx = context()
        return apply_retention(ctx.jobs, ctx.blobs, time.time(), ctx.settings.maintenance_batch).deleted
