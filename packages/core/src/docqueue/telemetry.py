"""OpenTelemetry traces: one trace from the upload request, through the queue, into the worker's
stages. On when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set,
exported over OTLP/HTTP; off otherwise (nothing is instrumented, nothing is exported).

The standard `OTEL_*` variables apply (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_BSP_*`, `OTEL_TRACES_SAMPLER_ARG` as the ratio of traces kept).
Each service calls `setup_tracing` once from its entry point; a prefork worker calls it before
the pool forks (the SDK's span processor restarts its thread in each child).
"""

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.instrumentation.celery import utils as celery_utils
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.propagate import inject
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind, TraceState
from opentelemetry.util.types import Attributes

log = logging.getLogger(__name__)

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
# Publish spans of messages whose publish failed are dropped past this many (they never end).
_MAX_PENDING_PUBLISHES = 1000


def tracing_enabled(env: Mapping[str, str] = os.environ) -> bool:
    return any(env.get(name) for name in ENDPOINT_VARIABLES)


class WorkRoots(Sampler):
    """Starts traces at work (a request, a task, a publish), never at a bare Redis command: the
    broker's polling and a lease's heartbeat would otherwise each start a trace of their own."""

    def __init__(self, ratio: float = 1.0) -> None:
        self.kept = TraceIdRatioBased(ratio)

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if kind == SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return self.kept.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"WorkRoots({self.kept.get_description()})"


class _CeleryInstrumentor(CeleryInstrumentor):
    """The upstream instrumentor, plus publish spans for `send_task`: it finds a task by name in
    the current app's registry only, so a message sent by name (the API's, the beat's) would get a
    publish span that never ends and a context left attached."""

    _pending: dict[str, Any]

    def _trace_before_publish(self, *args: Any, **kwargs: Any) -> None:
        if celery_utils.retrieve_task_from_sender(kwargs) is not None:
            super()._trace_before_publish(*args, **kwargs)  # type: ignore[no-untyped-call]
            return
        task_id = celery_utils.retrieve_task_id_from_message(kwargs)
        if task_id is None:
            return
        name = str(kwargs.get("sender") or "unknown")
        span = self._tracer.start_span(
            f"apply_async/{name}",
            kind=SpanKind.PRODUCER,
            attributes={
                "celery.action": "apply_async",
                "celery.task_name": name,
                "messaging.message.id": task_id,
            },
        )
        headers = kwargs.get("headers")
        if headers is not None:
            inject(headers, context=trace.set_span_in_context(span))
        pending = self.__dict__.setdefault("_pending", {})
        if len(pending) >= _MAX_PENDING_PUBLISHES:
            pending.clear()
        pending[task_id] = span

    def _trace_after_publish(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        CeleryInstrumentor._trace_after_publish(*args, **kwargs)  # type: ignore[no-untyped-call]
        task_id = celery_utils.retrieve_task_id_from_message(kwargs)
        span = self.__dict__.get("_pending", {}).pop(task_id, None) if task_id else None
        if span is not None:
            span.end()


def setup_tracing(service: str, env: Mapping[str, str] = os.environ) -> TracerProvider | None:
    """Install the tracer provider and the Celery and Redis instrumentation; None when off."""
    if not tracing_enabled(env):
        return None
    attributes = {} if env.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service}
    ratio = float(env.get("OTEL_TRACES_SAMPLER_ARG") or 1.0)
    provider = TracerProvider(
        resource=Resource.create(attributes), sampler=ParentBased(root=WorkRoots(ratio))
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _CeleryInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    RedisInstrumentor().instrument(tracer_provider=provider)
    log.info("tracing on: spans of %s exported over OTLP/HTTP", service)
    return provider


def flush_traces(timeout_ms: int = 2000) -> None:
    """Export what is buffered (a pool process about to exit never runs its atexit hooks)."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush(timeout_ms)
