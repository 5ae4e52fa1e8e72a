"""Maintenance tasks: thin adapters over `maintenance/`."""

import time
from collections.abc import Callable

from celery import Celery

from docqueue import names
from docqueue.jobs.model import Job
from docqueue.lanes import publish_document
from docqueue.webhooks import enqueue_webhook, requeue_due_webhook
from docqueue_beat.context import BeatContext
from docqueue_beat.maintenance.broker import forget_deliveries, read_broker
from docqueue_beat.maintenance.reconcile import Reconciler
from docqueue_beat.maintenance.retention import apply_retention

# The documents' queues, and the webhooks' (a webhook of the outbox with a message is not lost).
WATCHED_QUEUES = (*names.DOCUMENT_QUEUES, names.WEBHOOKS_QUEUE)


def register_tasks(app: Celery, context: Callable[[], BeatContext]) -> None:
    def publish(job: Job) -> None:
        publish_document(app, job, context().settings)

    @app.task(name=names.APPLY_RETENTION, max_retries=0)
    def retention() -> int:
        ctx = context()
        return apply_retention(ctx.jobs, ctx.blobs, time.time(), ctx.settings.maintenance_batch).deleted

    @app.task(name=names.RECONCILE_JOBS, max_retries=0)
    def reconcile() -> dict[str, int]:
        ctx = context()
        reconciler = Reconciler(
            jobs=ctx.jobs,
            settings=ctx.settings,
            read_broker=lambda: read_broker(ctx.broker, WATCHED_QUEUES),
            publish=publish,
            forget_deliveries=lambda tags: forget_deliveries(ctx.broker, tags),
            on_terminal=lambda job: enqueue_webhook(app, job),
            requeue_webhook=lambda message_id: requeue_due_webhook(app, ctx.jobs.redis, message_id),
            grace_s=ctx.settings.reconcile_grace_s,
        )
        report = reconciler.run(time.time(), ctx.settings.maintenance_batch)
        return {
            "checked": report.checked,
            "requeued": len(report.requeued),
            "dead_lettered": len(report.dead_lettered),
            "orphans_swept": report.orphans_swept,
            "webhooks_requeued": len(report.webhooks_requeued),
            "batches_closed": len(report.batches_closed),
        }
