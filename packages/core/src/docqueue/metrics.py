"""Every docqueue Prometheus metric, written once: name, help, labels and buckets.

Label values are bounded by construction: a route is its template, a status a number, an error
code one of `ErrorCode` (anything else is `other`), a task name one of `names.TASK_QUEUES`. No task
id, request id or key is ever a label; a tenant only when `metrics_tenant_label` opts in.

The metric objects are made by `api_metrics()` / `worker_metrics()` once per registry (prometheus'
registry is process-wide by nature; making them twice would be a duplicate registration). The
worker's pool processes share them through prometheus' multiprocess mode (see metrics_server.py).
"""

from dataclasses import dataclass
from functools import cache

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from docqueue import names
from docqueue.errors import PERMANENT_CODES, ErrorCode

# Seconds: an API answer (ms) up to a stalled dependency (tens of seconds).
HTTP_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Seconds one pipeline stage takes: a one-page text file up to the soft time limit.
STAGE_BUCKETS_S = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
# Seconds from upload to the end: queueing and retries included, up to the retry window.
END_TO_END_BUCKETS_S = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
# The error codes each terminal outcome can carry (see docqueue.errors).
OPERATIONAL_CODES = tuple(
    str(code) for code in ErrorCode if code not in PERMANENT_CODES and code != ErrorCode.CANCELLED
)
OUTCOME_CODES: dict[str, tuple[str, ...]] = {
    "succeeded": ("none",),
    "failed": tuple(sorted(str(code) for code in PERMANENT_CODES)),
    "dead_lettered": OPERATIONAL_CODES,
    "cancelled": ("cancelled",),
}
STAGES = ("extract", "chunk", "store")
# Bytes of an upload request, 1 KiB to the 50 MiB default cap and beyond.
# OCR of one page: a fraction of a second for a clean A4 page, several for a dense or large one.
OCR_BUCKETS_S = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)
# How a page's text was read (docqueue.results.Page.method).
PAGE_METHODS = ("text", "ocr")
UPLOAD_BUCKETS_BYTES = tuple(float(1024 * 4**n) for n in range(10))

OTHER = "other"
NO_ERROR = "none"
KNOWN_TASKS = frozenset(names.TASK_QUEUES)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
KNOWN_ERROR_CODES = frozenset(str(code) for code in ErrorCode)


def error_code_label(code: str | None) -> str:
    if not code:
        return NO_ERROR
    return code if code in KNOWN_ERROR_CODES else OTHER


def task_label(name: str | None) -> str:
    return name if name in KNOWN_TASKS else OTHER


def method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else OTHER


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def finished_labels(outcome: str, error_code: str | None, tenant: str, tenant_label: bool) -> dict[str, str]:
    """Labels of `docqueue_tasks_finished`; the tenant only when the deployment opted in."""
    labels = {"outcome": outcome, "error_code": error_code_label(error_code)}
    if tenant_label:
        labels["tenant"] = tenant
    return labels


@dataclass(frozen=True)
class ApiMetrics:
    """What an API process measures (its own `/metrics`; queue gauges are in metrics_queues.py)."""

    http_requests: Counter
    http_duration: Histogram
    upload_size: Histogram
    tasks_submitted: Counter
    tasks_finished: Counter
    tenant_label: bool


@dataclass(frozen=True)
class WorkerMetrics:
    """What a worker measures, summed over its pool processes."""

    tasks_submitted: Counter
    tasks_finished: Counter
    end_to_end: Histogram
    stage_duration: Histogram
    pages: Counter
    ocr_page: Histogram
    retries: Counter
    dead_letters: Counter
    tenant_label: bool


# The API and the workers both submit and finish jobs: one counter each per registry, whichever
# factory asks first.
@cache
def _finished(registry: CollectorRegistry, tenant_label: bool) -> Counter:
    return Counter(
        "docqueue_tasks_finished",
        "Jobs that reached a terminal state, by outcome (the job state) and error code",
        ["outcome", "error_code", *(["tenant"] if tenant_label else [])],
        registry=registry,
    )


@cache
def _submitted(registry: CollectorRegistry) -> Counter:
    return Counter(
        "docqueue_tasks_submitted",
        "Task messages published for the first time (retries excluded), by task name",
        ["task"],
        registry=registry,
    )


def api_metrics(registry: CollectorRegistry = REGISTRY, tenant_label: bool = False) -> ApiMetrics:
    # One cache key however it is called (functools.cache keys on how arguments are passed).
    return _api_metrics(registry, tenant_label)


def worker_metrics(registry: CollectorRegistry = REGISTRY, tenant_label: bool = False) -> WorkerMetrics:
    return _worker_metrics(registry, tenant_label)


@cache
def _api_metrics(registry: CollectorRegistry, tenant_label: bool) -> ApiMetrics:
    return ApiMetrics(
        http_requests=Counter(
            "docqueue_http_requests",
            "HTTP requests answered, by method, route template and status code",
            ["method", "route", "status"],
            registry=registry,
        ),
        http_duration=Histogram(
            "docqueue_http_request_duration_seconds",
            "Seconds from a request's arrival to its response headers (an event stream counts its "
            "set-up, not its life), by method and route template",
            ["method", "route"],
            buckets=HTTP_BUCKETS_S,
            registry=registry,
        ),
        upload_size=Histogram(
            "docqueue_upload_size_bytes",
            "Bytes of upload request bodies received (POST /v1/documents), by status class",
            ["status_class"],
            buckets=UPLOAD_BUCKETS_BYTES,
            registry=registry,
        ),
        tasks_submitted=_submitted(registry),
        tasks_finished=_finished(registry, tenant_label),
        tenant_label=tenant_label,
    )


@cache
def _worker_metrics(registry: CollectorRegistry, tenant_label: bool) -> WorkerMetrics:
    return WorkerMetrics(
        tasks_submitted=_submitted(registry),
        tasks_finished=_finished(registry, tenant_label),
        end_to_end=Histogram(
            "docqueue_task_end_to_end_seconds",
            "Seconds from upload (job created) to its terminal state, by outcome",
            ["outcome"],
            buckets=END_TO_END_BUCKETS_S,
            registry=registry,
        ),
        stage_duration=Histogram(
            "docqueue_stage_duration_seconds",
            "Seconds one run spent in a pipeline stage (extract, chunk, store), however it ended",
            ["stage"],
            buckets=STAGE_BUCKETS_S,
            registry=registry,
        ),
        pages=Counter(
            "docqueue_pages_processed",
            "Document pages read, by how: their text layer (text) or OCR (ocr)",
            ["method"],
            registry=registry,
        ),
        ocr_page=Histogram(
            "docqueue_ocr_page_seconds",
            "Seconds one page took to render and OCR",
            buckets=OCR_BUCKETS_S,
            registry=registry,
        ),
        retries=Counter(
            "docqueue_task_retries",
            "Task deliveries that ended in a scheduled retry, by task name",
            ["task"],
            registry=registry,
        ),
        dead_letters=Counter(
            "docqueue_dead_letters",
            "Jobs this worker dead-lettered, by error code",
            ["error_code"],
            registry=registry,
        ),
        tenant_label=tenant_label,
    )


def zero_known_series(metrics: ApiMetrics | WorkerMetrics) -> None:
    """Create every known label combination at 0, so a series exists before its first event:
    otherwise the first dead letter after a restart appears as a series already at 1, and
    `increase()` (and every alert built on it) never sees it happen."""
    for task in sorted(KNOWN_TASKS):
        metrics.tasks_submitted.labels(task=task)
    if not metrics.tenant_label:
        for outcome, codes in OUTCOME_CODES.items():
            for code in codes:
                metrics.tasks_finished.labels(outcome=outcome, error_code=code)
    if isinstance(metrics, WorkerMetrics):
        for outcome in OUTCOME_CODES:
            metrics.end_to_end.labels(outcome=outcome)
        for stage in STAGES:
            metrics.stage_duration.labels(stage=stage)
        for method in PAGE_METHODS:
            metrics.pages.labels(method=method)
        for code in OPERATIONAL_CODES:
            metrics.dead_letters.labels(error_code=code)
        for task in sorted(KNOWN_TASKS):
            metrics.retries.labels(task=task)
