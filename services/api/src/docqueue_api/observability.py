"""The API's metrics and traces: HTTP middleware, submissions, cancellations, and the queue gauges
served from `/metrics` (computed from Redis at scrape time, see docqueue.metrics_queues)."""

import logging
from collections.abc import Callable

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import REGISTRY, CollectorRegistry

from docqueue.jobs.model import Job
from docqueue.metrics import ApiMetrics, api_metrics, finished_labels, zero_known_series
from docqueue.metrics_queues import QueueCollector, count_submissions, stamp_publish_time
from docqueue.redis_url import redis_client
from docqueue_api.middleware.metrics import HttpMetricsMiddleware
from docqueue_api.settings import ApiSettings

log = logging.getLogger(__name__)

# Requests that are not worth a trace (probes and scrapes), as OTel's excluded-URL patterns.
UNTRACED_URLS = "/healthz,/readyz,/metrics"
# Redis reads of one scrape must not hold it up for long.
SCRAPE_REDIS_TIMEOUT_S = 2.0


def install_metrics(app: FastAPI, settings: ApiSettings) -> ApiMetrics:
    """Outermost middleware, plus the publish hooks (process-wide, installed once)."""
    metrics = api_metrics(REGISTRY, settings.metrics_tenant_label)
    zero_known_series(metrics)
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics)
    stamp_publish_time()
    count_submissions(metrics.tasks_submitted)
    return metrics


def finished_listener(metrics: ApiMetrics) -> Callable[[Job], None]:
    """Counts the jobs the API itself ends (cancels)."""

    def listener(job: Job) -> None:
        labels = finished_labels(str(job.state), job.error_code, job.tenant, metrics.tenant_label)
        metrics.tasks_finished.labels(**labels).inc()

    return listener


def start_queue_metrics(settings: ApiSettings, registry: CollectorRegistry = REGISTRY) -> Callable[[], None]:
    """Register the queue gauges for this app's lifetime; returns the function that stops them."""
    broker = redis_client(
        settings.effective_broker_url,
        settings.sentinel_password,
        socket_timeout=SCRAPE_REDIS_TIMEOUT_S,
        socket_connect_timeout=SCRAPE_REDIS_TIMEOUT_S,
    )
    store = redis_client(
        settings.redis_url,
        settings.sentinel_password,
        socket_timeout=SCRAPE_REDIS_TIMEOUT_S,
        socket_connect_timeout=SCRAPE_REDIS_TIMEOUT_S,
    )
    collector = QueueCollector(broker, store)
    try:
        registry.register(collector)
    except ValueError:
        # Another app in this process already serves them (tests build several apps).
        log.debug("queue metrics already registered in this process")
        collector = None  # type: ignore[assignment]

    def stop() -> None:
        if collector is not None:
            registry.unregister(collector)
        broker.close()
        store.close()

    return stop


def instrument_app(app: FastAPI, provider: TracerProvider | None) -> None:
    """Server spans for every request but probes and scrapes (only when tracing is on)."""
    if provider is not None:
        FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls=UNTRACED_URLS)
