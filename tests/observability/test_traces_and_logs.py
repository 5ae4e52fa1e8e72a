"""Traces and logs across real processes: an API, a prefork worker and beat export spans over
OTLP/HTTP to a receiver in this test, and write JSON log lines; one upload is one trace from the
request through the queue into the worker's stages, and its log lines carry its ids."""

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from docqueue_devstack.processes import wait_until
from tests.conftest import TEST_ENV
from tests.observability.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.support.documents import corrupt_pdf, labelled_pdf
from tests.support.http import submit, wait_terminal
from tests.support.keys import tenant_key
from tests.support.stacks import private_stack

STAGES = ("docqueue.extract", "docqueue.chunk", "docqueue.store")
JSON_KEYS = {"time", "level", "logger", "message", "service"}


@dataclass
class Traced:
    receiver: OtlpReceiver
    logs: Path
    tenant: str
    good: str  # task id of a document that succeeded
    corrupt: str  # task id of one that failed in extraction

    def spans(self, trace_id: str | None = None) -> list[ReceivedSpan]:
        return [s for s in self.receiver.received() if trace_id is None or s.trace_id == trace_id]

    def log_lines(self, name: str) -> list[dict[str, Any]]:
        lines = (self.logs / f"{name}.log").read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]


def _stage_spans(traced: Traced, task_id: str) -> list[ReceivedSpan]:
    return [s for s in traced.spans() if s.name in STAGES and s.attributes.get("docqueue.task_id") == task_id]


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Traced]:
    root = tmp_path_factory.mktemp("traced")
    receiver = OtlpReceiver().start()
    env = {
        **TEST_ENV,
        "DOCQUEUE_LOG_FORMAT": "json",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # export within moments, not every 5 s
        "DOCQUEUE_RECONCILE_INTERVAL_S": "1",  # beat publishes and runs maintenance at once
    }
    try:
        with private_stack(root, env) as private:
            private.stack.start_worker(concurrency=2)
            private.stack.start_beat()
            tenant = f"t-{uuid.uuid4().hex[:8]}"
            key = tenant_key(private.redis, tenant)
            headers = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=private.api_url, headers=headers, timeout=30) as api:
                good = submit(api, labelled_pdf(3, f"traced {uuid.uuid4()}"), "good.pdf")
                corrupt = submit(api, corrupt_pdf(), "corrupt.pdf")
                assert wait_terminal(api, good)["state"] == "succeeded"
                assert wait_terminal(api, corrupt)["state"] == "failed"
            traced = Traced(receiver, root / "stack" / "logs", tenant, good, corrupt)
            assert wait_until(lambda: len(_stage_spans(traced, good)) == len(STAGES), timeout_s=30), (
                traced.spans()
            )
            assert wait_until(lambda: any(s.service == "docqueue-beat" for s in traced.spans()), timeout_s=30)
            yield traced
    finally:
        receiver.stop()


def _one(spans: list[ReceivedSpan], **match: Any) -> ReceivedSpan:
    found = [s for s in spans if all(getattr(s, k) == v for k, v in match.items())]
    assert len(found) == 1, (match, found)
    return found[0]


def test_one_trace_from_the_upload_request_into_the_worker_stages(traced: Traced) -> None:
    stages = _stage_spans(traced, traced.good)
    trace_id = stages[0].trace_id
    spans = traced.spans(trace_id)
    request = _one(spans, service="docqueue-api", kind="SERVER", name="POST /v1/documents")
    publish = _one(spans, service="docqueue-api", kind="PRODUCER", name="apply_async/documents.process")
    run = _one(spans, service="docqueue-worker", kind="CONSUMER", name="run/documents.process")
    # The API's request span holds the publish (directly or through its own spans), the publish
    # is the parent of the worker's run across the queue, and the run holds each stage.
    ids = {s.span_id: s for s in spans}
    ancestor = ids.get(publish.parent_span_id)
    while ancestor is not None and ancestor.span_id != request.span_id:
        ancestor = ids.get(ancestor.parent_span_id)
    assert ancestor is request
    assert publish.attributes["messaging.message.id"] == traced.good
    assert run.parent_span_id == publish.span_id
    assert sorted(s.name for s in stages) == sorted(STAGES)
    assert all(s.parent_span_id == run.span_id and s.trace_id == trace_id for s in stages)
    # Redis commands of the request and of the run are children in the same trace.
    assert any(s.kind == "CLIENT" and s.service == "docqueue-api" for s in spans)
    assert any(s.kind == "CLIENT" and s.service == "docqueue-worker" for s in spans)


def test_redis_commands_outside_work_start_no_trace(traced: Traced) -> None:
    # The broker's polling and the lease heartbeat would otherwise each be a trace of their own.
    roots = [s for s in traced.spans() if not s.parent_span_id]
    assert roots
    assert not [s for s in roots if s.kind == "CLIENT"]
    assert {s.service for s in traced.spans()} >= {"docqueue-api", "docqueue-worker", "docqueue-beat"}


def test_every_process_writes_json_lines(traced: Traced) -> None:
    for name, service in (("worker", "worker"), ("beat", "beat")):
        lines = traced.log_lines(name)
        assert lines, name
        for line in lines:
            assert set(line) >= JSON_KEYS, line
            assert line["service"] == service
    api_logs = [path.stem for path in traced.logs.glob("api-*.log")]
    assert len(api_logs) == 1
    api_lines = traced.log_lines(api_logs[0])
    assert any("tracing on" in line["message"] for line in api_lines)
    assert all(set(line) >= JSON_KEYS and line["service"] == "api" for line in api_lines)


def test_a_task_log_lines_carry_its_task_tenant_stage_and_trace(traced: Traced) -> None:
    lines = traced.log_lines("worker")
    trace_id = _stage_spans(traced, traced.good)[0].trace_id
    good = [line for line in lines if line.get("task_id") == traced.good]
    # The main process's "received" line (Celery's own) and the pool process's lines.
    assert any(line["logger"] == "celery.worker.strategy" for line in good)
    done = [line for line in good if line["logger"] == "celery.app.trace" and "succeeded" in line["message"]]
    assert done, good
    assert done[0]["tenant"] == traced.tenant
    assert done[0]["trace_id"] == trace_id
    assert done[0]["task_name"] == "documents.process"
    # pypdf's complaint about the corrupt file is written during extraction.
    corrupt = [
        line for line in lines if line.get("task_id") == traced.corrupt and line["logger"].startswith("pypdf")
    ]
    assert corrupt, [line for line in lines if line.get("task_id") == traced.corrupt]
    assert corrupt[0]["stage"] == "extract"
    assert corrupt[0]["tenant"] == traced.tenant
    assert len(corrupt[0]["trace_id"]) == 32
    ended = [
        line for line in lines if line.get("task_id") == traced.corrupt and line["message"] == "job ended"
    ]
    assert ended
    assert ended[0]["error_code"] == "corrupt_document"
    assert ended[0]["trace_id"] == corrupt[0]["trace_id"]
    # No line carries a Celery task's arguments.
    assert not [line for line in lines if "data" in line or "args" in line]


def test_a_run_that_failed_in_extraction_has_only_its_extract_span(traced: Traced) -> None:
    stages = _stage_spans(traced, traced.corrupt)
    assert [s.name for s in stages] == ["docqueue.extract"]
    run = _one(traced.spans(stages[0].trace_id), kind="CONSUMER", name="run/documents.process")
    assert stages[0].parent_span_id == run.span_id
