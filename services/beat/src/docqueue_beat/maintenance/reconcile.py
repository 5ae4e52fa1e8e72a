"""Self-healing: find jobs left hanging and put them back to work, or give up on them.

A job is hanging when it waits (`queued`, `retrying`) but no message for it exists anywhere in the
broker (a Redis restart without persistence, a publish lost between the job write and the send),
or when it is `running` but its heartbeat stopped and nothing will deliver it again. Such a job is
re-enqueued with the same task id, or dead-lettered (`worker_lost`) past the poison cap.

A webhook is lost when the webhook outbox (keys.WEBHOOKS_DUE) still holds it, its subject ended
more than the grace ago, and no message of it (names.webhook_message_id) is in the broker: the
process that ended the task or batch died before it sent the message, or the broker failed it.
Such a webhook is queued again.

A batch is abandoned when its members are still being created long after it was (the API's
request failed part way: it answered 503, and a retry makes a batch of its own). It is closed on
the members it has, so it ends when they end; one with none is deleted.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from docqueue import names
from docqueue.dead_letters import dead_letter_fields
from docqueue.errors import ErrorCode
from docqueue.jobs import keys
from docqueue.jobs.commands import Update
from docqueue.jobs.model import TERMINAL_STATES, Job, JobState, Stage
from docqueue.jobs.store import JobStore
from docqueue.settings import Settings
from docqueue.text import as_text
from docqueue.webhooks import BACKOFF_MAX_S
from docqueue_beat.maintenance.broker import BrokerView

log = logging.getLogger(__name__)

# A batch still being created this long after it was is abandoned: creating even 1,000 members
# takes seconds, and no client waits this long for its answer.
ABANDONED_BATCH_S = 600.0

WAITING_STATES = frozenset({JobState.QUEUED, JobState.RETRYING})
TERMINAL_OR_GONE = frozenset({*(str(s) for s in TERMINAL_STATES), None})


@dataclass
class ReconcileReport:
    checked: int = 0
    requeued: list[str] = field(default_factory=list)
    dead_lettered: list[str] = field(default_factory=list)
    orphans_swept: int = 0
    webhooks_requeued: list[str] = field(default_factory=list)
    batches_closed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Reconciler:
    """Decides, for each stale job, whether it is really lost; see the module docstring."""

    jobs: JobStore
    settings: Settings
    read_broker: Callable[[], BrokerView]
    publish: Callable[[Job], None]  # re-enqueue a job (in its lane)
    # Drop unacked broker entries (by delivery tag) that no live worker holds.
    forget_deliveries: Callable[[list[str]], None] = lambda tags: None
    on_terminal: Callable[[Job], None] = lambda job: None
    # Queue a lost webhook again by its message id (docqueue.webhooks.requeue_due_webhook).
    requeue_webhook: Callable[[str], bool] = lambda message_id: False
    # A waiting job younger than this is left alone: its message may still be on its way.
    grace_s: float = 30.0

    def run(self, now: float, batch: int) -> ReconcileReport:
        report = ReconcileReport()
        # Only jobs not updated for a while can be hanging; the rest are left unread.
        horizon = now - min(self.grace_s, self.settings.lease_s)
        candidates: list[Any] = self.jobs.redis.zrangebyscore(
            keys.ACTIVE_JOBS, "-inf", horizon, start=0, num=batch
        )
        broker = self.read_broker()
        self._sweep_orphans(broker, now, report)
        report.webhooks_requeued = self.requeue_webhooks(broker, now, batch)
        report.batches_closed = self.close_abandoned_batches(now, batch)
        for raw_id in candidates:
            report.checked += 1
            job = self.jobs.get(as_text(raw_id))
            if job is None or job.is_terminal:
                self.jobs.redis.zrem(keys.ACTIVE_JOBS, raw_id)
                continue
            if self._lost(job, broker, now):
                self._recover(job, now, report)
        if report.requeued or report.dead_lettered or report.webhooks_requeued or report.batches_closed:
            log.warning(
                "reconciled hanging jobs",
                extra={
                    "requeued": len(report.requeued),
                    "dead_lettered": len(report.dead_lettered),
                    "webhooks_requeued": len(report.webhooks_requeued),
                    "batches_closed": len(report.batches_closed),
                },
            )
        return report

    def _sweep_orphans(self, broker: BrokerView, now: float, report: ReconcileReport) -> None:
        """A worker acks within moments of finishing, so an unacked message of a finished job,
        delivered long ago, was held by a worker that died. Kombu would hand it out again only
        after the visibility timeout, to be dropped as a duplicate; drop it now instead."""
        horizon = now - 2 * self.settings.lease_s - self.grace_s
        # A webhook's retry waits in its worker, unacked, for up to its longest backoff.
        webhook_horizon = horizon - BACKOFF_MAX_S
        old = [
            d
            for d in broker.deliveries
            if d.delivered_at < (webhook_horizon if names.is_webhook_message(d.task_id) else horizon)
        ]
        if not old:
            return
        states = self.jobs.states([d.task_id for d in old if not names.is_webhook_message(d.task_id)])
        # A webhook's message held that long was held by a dead worker (its outbox entry, if the
        # delivery did not end, has it queued again by the next run).
        orphans = [
            d.tag
            for d in old
            if names.is_webhook_message(d.task_id) or states.get(d.task_id) in TERMINAL_OR_GONE
        ]
        self.forget_deliveries(orphans)
        report.orphans_swept = len(orphans)

    def close_abandoned_batches(self, now: float, batch: int) -> list[str]:
        """Close the abandoned batches (see the module docstring); queue the webhook of one that
        ended so. Their ids."""
        closed = []
        for batch_id in self.jobs.abandoned_batches(now - ABANDONED_BATCH_S, batch):
            outcome = self.jobs.close_abandoned_batch(batch_id, now)
            if outcome == "ended":
                self.requeue_webhook(names.webhook_message_id("batch", batch_id))
            if outcome:
                closed.append(batch_id)
        return closed

    def requeue_webhooks(self, broker: BrokerView, now: float, batch: int) -> list[str]:
        """Queue again the outbox's webhooks that are lost (see the module docstring); their
        message ids."""
        due: list[Any] = self.jobs.redis.zrangebyscore(
            keys.WEBHOOKS_DUE, "-inf", now - self.grace_s, start=0, num=batch
        )
        requeued = []
        for raw in due:
            message_id = as_text(raw)
            if not broker.has_message(message_id) and self.requeue_webhook(message_id):
                requeued.append(message_id)
        return requeued

    def _lost(self, job: Job, broker: BrokerView, now: float) -> bool:
        if job.state in WAITING_STATES:
            if now - job.updated_at < self.grace_s:
                return False
            # A worker claims what it takes at once, or holds it until a retry's countdown ends;
            # a delivery older than that did not reach a live worker (it died, or lost its
            # connection before it could claim). Kombu would restore it only after the
            # visibility timeout and its own restore interval: far too late.
            held_s = self.grace_s + (
                self.settings.retry_backoff_max_s if job.state == JobState.RETRYING else 0
            )
            return not broker.has_message(job.task_id, delivered_after=now - held_s)
        if job.state == JobState.RUNNING:
            # Heartbeat stopped: the run is dead. A message delivered after its last beat is a
            # redelivery already on its way to a worker; anything older belonged to the dead run.
            stale = now - job.updated_at >= self.settings.lease_s
            return stale and not broker.has_message(job.task_id, delivered_after=job.updated_at)
        return False

    def _recover(self, job: Job, now: float, report: ReconcileReport) -> None:
        guard = {"from_states": {job.state}, "run_id": job.run_id if job.state == JobState.RUNNING else None}
        if job.attempts >= self.settings.max_attempts:
            message = f"lost after {job.attempts} deliveries; the poison cap is {self.settings.max_attempts}"
            result = self.jobs.update(
                Update(
                    task_id=job.task_id,
                    now=now,
                    set={
                        "state": JobState.DEAD_LETTERED,
                        "error_code": ErrorCode.WORKER_LOST,
                        "error_message": message,
                        "finished_at": now,
                    },
                    terminal=True,
                    history={
                        "event": "dead_lettered",
                        "error_code": str(ErrorCode.WORKER_LOST),
                        "by": "reconciler",
                    },
                    dead_letter=dead_letter_fields(
                        names.PROCESS_DOCUMENT, [job.task_id], ErrorCode.WORKER_LOST, message, ""
                    ),
                    **guard,  # type: ignore[arg-type]
                )
            )
            if result.ok and result.job is not None:
                report.dead_lettered.append(job.task_id)
                self.on_terminal(result.job)
            return
        result = self.jobs.update(
            Update(
                task_id=job.task_id,
                now=now,
                set={"state": JobState.QUEUED, "stage": Stage.QUEUED, "pages_done": 0},
                history={"event": "requeued", "by": "reconciler", "was": str(job.state)},
                **guard,  # type: ignore[arg-type]
            )
        )
        if result.ok:
            self.publish(job)
            report.requeued.append(job.task_id)
