"""The log line format (a pure unit test of docqueue.logging_config)."""

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from docqueue.logging_config import ContextFilter, log_context, make_formatter


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter("worker"))
    handler.setFormatter(make_formatter("json"))
    logger = logging.getLogger(f"test.{id(stream)}")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_is_one_json_object_with_the_context(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.info("outside")
    with log_context(task_id="t1", tenant="acme", stage="extract"):
        logger.warning("inside %s", "work", extra={"attempt": 2})
    logger.info("explicit", extra={"task_id": "t2"})
    outside, inside, explicit = lines(stream)
    assert set(outside) == {"time", "level", "logger", "message", "service"}
    assert inside["message"] == "inside work"
    assert (inside["task_id"], inside["tenant"], inside["stage"], inside["attempt"]) == (
        "t1",
        "acme",
        "extract",
        2,
    )
    assert inside["level"] == "WARNING"
    assert inside["service"] == "worker"
    assert explicit["task_id"] == "t2"
    assert "tenant" not in explicit  # unknown fields are left out, not null


def test_celery_lines_name_their_task_and_never_its_arguments(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    _, stream = captured
    celery = logging.getLogger("celery.app.trace")
    handler = captured[0].handlers[0]
    celery.addHandler(handler)
    try:
        data = {"id": "abc", "name": "documents.process", "args": "['secret']", "runtime": 0.5}
        celery.error("Task %(name)s[%(id)s] succeeded in %(runtime)ss", data, extra={"data": data})
    finally:
        celery.removeHandler(handler)
    (line,) = lines(stream)
    assert line["task_id"] == "abc"
    assert line["task_name"] == "documents.process"
    assert line["runtime_s"] == 0.5
    assert "secret" not in json.dumps(line)


def test_the_trace_id_is_the_current_span(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        logger.info("traced")
    context = span.get_span_context()
    (line,) = lines(stream)
    assert line["trace_id"] == format(context.trace_id, "032x")
    assert line["span_id"] == format(context.span_id, "016x")


def test_exceptions_are_one_field_of_one_line(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    try:
        raise ValueError("bad")
    except ValueError:
        logger.exception("failed")
    (line,) = lines(stream)
    assert "ValueError: bad" in line["exc_info"]


def test_text_format_keeps_the_task_and_trace() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    ContextFilter("api").filter(record)
    assert "hello" in make_formatter("text").format(record)
    assert "task=None" in make_formatter("text").format(record)
