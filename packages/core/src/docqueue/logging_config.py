"""Log lines from every docqueue process: JSON (one object per line) or text, each carrying the
task id, tenant, stage and trace id of the work it was written for.

The fields come from context variables (`log_context`), set where the work is known: a Celery
task's start (task id), a run's lease (tenant, stage), an authenticated request (tenant); the trace
id comes from the current OpenTelemetry span. A field given explicitly (`extra={"task_id": ...}`)
wins. Celery's own lines name their task in their arguments (`Task %(name)s[%(id)s] ...`): that id
becomes the line's `task_id` too.

Nothing here logs on its own; what a line holds is what its caller passed. Callers never pass an
API key or document text (tests/hostile/test_leaks.py greps every process's log for both).
"""

import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any, Literal

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

task_id_var: ContextVar[str | None] = ContextVar("docqueue_log_task_id", default=None)
tenant_var: ContextVar[str | None] = ContextVar("docqueue_log_tenant", default=None)
stage_var: ContextVar[str | None] = ContextVar("docqueue_log_stage", default=None)
_VARS: dict[str, ContextVar[str | None]] = {"task_id": task_id_var, "tenant": tenant_var, "stage": stage_var}

# Loggers that other libraries give handlers of their own: ours format their lines instead.
ADOPTED_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "celery", "celery.task", "celery.redirected")
JSON_FIELDS = ("levelname", "name", "message")
# Extras other libraries attach that a line must not carry: uvicorn's ANSI-coloured copy of the
# message, and Celery's `data` (it holds the task's arguments; its id and name are kept).
DROPPED_EXTRAS = ("color_message", "data")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [task=%(task_id)s trace=%(trace_id)s] %(message)s"


def bind(**fields: str | None) -> list[tuple[ContextVar[str | None], Token[str | None]]]:
    """Set context fields (task_id, tenant, stage) until `unbind` is given the returned tokens."""
    return [(_VARS[name], _VARS[name].set(value)) for name, value in fields.items()]


def unbind(tokens: list[tuple[ContextVar[str | None], Token[str | None]]]) -> None:
    for var, token in reversed(tokens):
        try:
            var.reset(token)
        except ValueError:
            # Set in another context (a signal fired in another thread): leave it to that one.
            var.set(None)


@contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    tokens = bind(**fields)
    try:
        yield
    finally:
        unbind(tokens)


class ContextFilter(logging.Filter):
    """Adds the context fields and the current trace and span ids to every record it sees."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        for name, var in _VARS.items():
            if getattr(record, name, None) is None:
                setattr(record, name, var.get())
        celery_args = record.args if record.name.startswith("celery") else None
        if getattr(record, "task_id", None) is None and isinstance(celery_args, Mapping):
            task_id = celery_args.get("id")
            record.task_id = str(task_id) if task_id else None
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            record.trace_id = format(span_context.trace_id, "032x")
            record.span_id = format(span_context.span_id, "016x")
        else:
            record.trace_id = record.span_id = None
        return True


class _Json(JsonFormatter):
    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        data = log_data.get("data")
        if isinstance(data, Mapping):
            log_data.setdefault("task_name", data.get("name"))
            log_data.setdefault("runtime_s", data.get("runtime"))
        for name in DROPPED_EXTRAS:
            log_data.pop(name, None)
        # Context fields that are unknown for this line are left out rather than written as null.
        return {key: value for key, value in log_data.items() if value is not None}


def make_formatter(fmt: Literal["json", "text"]) -> logging.Formatter:
    if fmt == "text":
        return logging.Formatter(TEXT_FORMAT)
    return _Json(
        list(JSON_FIELDS),
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",  # ISO 8601, UTC, microseconds
    )


def configure_logging(level: str, fmt: Literal["json", "text"], service: str) -> logging.Handler:
    """One handler on the root logger, to stderr; every other logger propagates to it. Called
    again, it replaces the handler it made before."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "docqueue", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.docqueue = True  # type: ignore[attr-defined]
    handler.addFilter(ContextFilter(service))
    handler.setFormatter(make_formatter(fmt))
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ADOPTED_LOGGERS:
        # A logger another library gave handlers now writes through ours; one it silenced (no
        # handlers, not propagating: `uvicorn --no-access-log`) stays silent.
        adopted = logging.getLogger(name)
        if adopted.handlers:
            adopted.handlers.clear()
            adopted.propagate = True
    logging.captureWarnings(True)
    return handler
