"""The worker's metrics, trace spans and log fields, hooked onto what already sees the work:

- each run's lease (`RunObserver`): stage durations, pages, a span per stage, `tenant`/`stage` log fields;
- the processor's terminal listeners (`terminal_listener`): outcomes, error codes, end-to-end time,
  dead letters;
- Celery's signals (`install_worker_signals`): task id log field, retries, publish hooks, the metrics
  server in the main process, pool processes that exit.

Nothing here may raise into the work it watches: a broken metric costs a log line, never a job.
"""

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from celery.signals import (
    task_postrun,
    task_prerun,
    task_retry,
    worker_init,
    worker_process_shutdown,
)
from opentelemetry import context as otel_context
from opentelemetry import trace
from prometheus_client import REGISTRY

from docqueue.jobs.model import Job, JobState, Stage
from docqueue.logging_config import stage_var, task_id_var, tenant_var
from docqueue.metrics import (
    WorkerMetrics,
    error_code_label,
    finished_labels,
    task_label,
    worker_metrics,
    zero_known_series,
)
from docqueue.metrics_queues import count_submissions, stamp_publish_time
from docqueue.metrics_server import mark_process_dead, serve_metrics
from docqueue.settings import Settings
from docqueue.telemetry import flush_traces

log = logging.getLogger(__name__)

STAGE_LABELS = {Stage.EXTRACTING: "extract", Stage.CHUNKING: "chunk", Stage.STORING: "store"}


def metrics_of(settings: Settings) -> WorkerMetrics:
    return worker_metrics(REGISTRY, settings.metrics_tenant_label)


class RunObserver:
    """Watches one run through its lease (see lease.LeaseObserver). A run starts in `extracting`
    (the claim set it), so that stage's clock starts when the observer is made."""

    def __init__(
        self, job: Job, metrics: WorkerMetrics, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.job = job
        self.metrics = metrics
        self.clock = clock
        self.tracer = trace.get_tracer("docqueue.worker")
        self.stage: Stage | None = None
        self.entered = 0.0
        self.span: trace.Span | None = None
        self.span_token: object | None = None
        self.pages_seen = 0
        tenant_var.set(job.tenant)
        self.stage_entered(Stage.EXTRACTING)

    def stage_entered(self, stage: Stage) -> None:
        if stage == self.stage:
            return
        try:
            now = self.clock()  # one reading: a stage ends exactly when the next begins
            self._close(now)
            label = STAGE_LABELS.get(stage)
            if label is None:
                return
            self.stage, self.entered = stage, now
            self.span = self.tracer.start_span(
                f"docqueue.{label}",
                attributes={"docqueue.task_id": self.job.task_id, "docqueue.stage": label},
            )
            self.span_token = otel_context.attach(trace.set_span_in_context(self.span))
            stage_var.set(label)
        except Exception:
            log.warning("stage metrics failed", exc_info=True)

    def pages_done(self, pages_done: int, method: str = "text") -> None:
        try:
            if pages_done > self.pages_seen:
                self.metrics.pages.labels(method=method).inc(pages_done - self.pages_seen)
                self.pages_seen = pages_done
        except Exception:
            log.warning("page metrics failed", exc_info=True)

    def run_ended(self) -> None:
        try:
            if self.stage is not None:
                self._close(self.clock())
        except Exception:
            log.warning("stage metrics failed", exc_info=True)

    def _close(self, now: float) -> None:
        if self.stage is None:
            return
        label = STAGE_LABELS[self.stage]
        self.metrics.stage_duration.labels(label).observe(now - self.entered)
        if self.span is not None:
            self.span.set_attribute("docqueue.pages_done", self.pages_seen)
            self.span.end()
        if self.span_token is not None:
            otel_context.detach(self.span_token)  # type: ignore[arg-type]
        self.stage, self.span, self.span_token = None, None, None
        stage_var.set(None)


def run_observer(settings: Settings) -> Callable[[Job], RunObserver]:
    metrics = metrics_of(settings)
    return lambda job: RunObserver(job, metrics)


def terminal_listener(settings: Settings) -> Callable[[Job], None]:
    """Counts a job's end: outcome and error code, time since upload, dead letters."""
    metrics = metrics_of(settings)

    def listener(job: Job) -> None:
        outcome = str(job.state)
        code = str(job.error_code) if job.error_code else None
        metrics.tasks_finished.labels(
            **finished_labels(outcome, code, job.tenant, metrics.tenant_label)
        ).inc()
        if job.finished_at is not None:
            metrics.end_to_end.labels(outcome).observe(max(0.0, job.finished_at - job.created_at))
        if job.state == JobState.DEAD_LETTERED:
            metrics.dead_letters.labels(error_code_label(code)).inc()

    return listener


def install_worker_signals(settings: Settings, metrics_port: int, metrics_address: str) -> None:
    """Process-wide hooks; `metrics_port` 0 serves no metrics."""
    metrics = metrics_of(settings)
    zero_known_series(metrics)
    stamp_publish_time()
    count_submissions(metrics.tasks_submitted)

    def prerun(task_id: str | None = None, **_: Any) -> None:
        task_id_var.set(task_id)

    def postrun(**_: Any) -> None:
        for var in (task_id_var, tenant_var, stage_var):
            var.set(None)

    def retried(sender: Any = None, **_: Any) -> None:
        metrics.retries.labels(task_label(getattr(sender, "name", None))).inc()

    def serve(**_: Any) -> None:
        if metrics_port:
            try:
                serve_metrics(metrics_port, metrics_address)
            except OSError as exc:
                # A port in use must not stop the worker from working; the scrape target shows it.
                log.error("metrics not served on %s:%d: %s", metrics_address, metrics_port, exc)

    def pool_process_exits(**_: Any) -> None:
        mark_process_dead(os.getpid())
        flush_traces()

    for signal, receiver in (
        (task_prerun, prerun),
        (task_postrun, postrun),
        (task_retry, retried),
        (worker_init, serve),
        (worker_process_shutdown, pool_process_exits),
    ):
        signal.connect(receiver, weak=False, dispatch_uid=f"docqueue-{receiver.__name__}")
