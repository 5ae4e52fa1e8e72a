"""The worker's run observer and terminal listener (pure unit tests with a registry of their own)."""

import time

from prometheus_client import CollectorRegistry

from docqueue.jobs.model import Job, JobOptions, JobState, Stage
from docqueue.logging_config import stage_var, tenant_var
from docqueue.metrics import WorkerMetrics, worker_metrics, zero_known_series
from docqueue.settings import Settings
from docqueue_worker.observability import RunObserver, terminal_listener


def job(**fields: object) -> Job:
    now = time.time()
    base: dict[str, object] = {
        "task_id": "t" * 32,
        "tenant": "acme",
        "filename": "a.pdf",
        "media_type": "application/pdf",
        "size_bytes": 10,
        "sha256": "0" * 64,
        "options": JobOptions(),
        "blob_key": "uploads/x",
        "created_at": now - 30,
        "updated_at": now,
    }
    return Job.model_validate({**base, **fields})


def sample(metrics: WorkerMetrics, name: str, **labels: str) -> float:
    for metric in vars(metrics).values():
        for family in getattr(metric, "collect", list)():
            for s in family.samples:
                if s.name == name and s.labels == labels:
                    return float(s.value)
    return 0.0


def test_each_stage_is_timed_from_entry_to_the_next_and_pages_are_counted() -> None:
    metrics = worker_metrics(CollectorRegistry())
    clock = iter([0.0, 2.0, 2.5, 2.75]).__next__
    observer = RunObserver(job(), metrics, clock=clock)  # extracting from t=0
    assert (tenant_var.get(), stage_var.get()) == ("acme", "extract")
    observer.stage_entered(Stage.EXTRACTING)  # again, with the page count: the same stage
    observer.pages_done(3)
    observer.pages_done(5, "ocr")
    observer.stage_entered(Stage.CHUNKING)  # t=2
    observer.stage_entered(Stage.STORING)  # t=2.5
    observer.run_ended()  # t=2.75
    observer.run_ended()  # the lease's exit after finish: nothing more
    assert sample(metrics, "docqueue_stage_duration_seconds_sum", stage="extract") == 2.0
    assert sample(metrics, "docqueue_stage_duration_seconds_sum", stage="chunk") == 0.5
    assert sample(metrics, "docqueue_stage_duration_seconds_sum", stage="store") == 0.25
    assert sample(metrics, "docqueue_stage_duration_seconds_count", stage="store") == 1
    assert sample(metrics, "docqueue_pages_processed_total", method="text") == 3
    assert sample(metrics, "docqueue_pages_processed_total", method="ocr") == 2
    assert stage_var.get() is None


def test_a_run_stopped_in_a_stage_still_counts_its_time() -> None:
    metrics = worker_metrics(CollectorRegistry())
    clock = iter([10.0, 14.0]).__next__
    RunObserver(job(), metrics, clock=clock).run_ended()
    assert sample(metrics, "docqueue_stage_duration_seconds_sum", stage="extract") == 4.0


def test_terminal_listener_counts_outcome_code_end_to_end_and_dead_letters() -> None:
    listener = terminal_listener(Settings())
    registry_metrics = worker_metrics()  # the listener counts in the process's registry
    before = sample(registry_metrics, "docqueue_dead_letters_total", error_code="timeout")
    finished = time.time()
    listener(job(state=JobState.DEAD_LETTERED, error_code="timeout", finished_at=finished))
    listener(job(state=JobState.SUCCEEDED, finished_at=finished))
    assert sample(registry_metrics, "docqueue_dead_letters_total", error_code="timeout") == before + 1
    assert (
        sample(registry_metrics, "docqueue_tasks_finished_total", outcome="succeeded", error_code="none") >= 1
    )
    assert sample(registry_metrics, "docqueue_task_end_to_end_seconds_count", outcome="dead_lettered") >= 1


def test_known_series_exist_at_zero_before_their_first_event() -> None:
    metrics = worker_metrics(CollectorRegistry())
    zero_known_series(metrics)
    labels = {
        (s.name, tuple(sorted(s.labels.items())))
        for metric in (metrics.tasks_finished, metrics.dead_letters, metrics.stage_duration)
        for family in metric.collect()
        for s in family.samples
    }
    assert (
        "docqueue_tasks_finished_total",
        (("error_code", "corrupt_document"), ("outcome", "failed")),
    ) in labels
    assert ("docqueue_dead_letters_total", (("error_code", "worker_lost"),)) in labels
    assert ("docqueue_stage_duration_seconds_count", (("stage", "store"),)) in labels
    assert sample(metrics, "docqueue_tasks_finished_total", outcome="succeeded", error_code="none") == 0
