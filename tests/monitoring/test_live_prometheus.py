"""The dashboards and alerts against a real Prometheus scraping a real stack.

Prometheus (Debian's) scrapes an API, a prefork worker (its multiprocess metrics port), the
celery-exporter and Flower, all on loopback and on a Redis of their own. A mixed load goes
through: good PDFs and text, corrupt PDFs, a slow PDF, two runaway PDFs (soft time limit: dead
letters; they also hold the pool, so a backlog builds), and a document whose storage fails while
it is processed (a retry, then a dead letter: retries exhausted). Then every dashboard panel query
must return data and every alert expression must parse and evaluate cleanly. About a minute.
"""

import json
import math
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from docqueue_devstack.processes import free_port, wait_until
from docqueue_devstack.stack import Stack
from tests.conftest import TEST_ENV
from tests.monitoring import dashboards
from tests.monitoring.prometheus import DASHBOARDS, ROOT, RULE_FILES, Prometheus, Target
from tests.support.documents import corrupt_pdf, labelled_pdf, make_pdf, page_text
from tests.support.http import submit, wait_for, wait_terminal
from tests.support.keys import tenant_key
from tests.support.scans import image_file, page_images
from tests.support.stacks import private_stack

EXPORTER_PYTHON = ROOT / ".run" / "celery-exporter-venv" / "bin" / "python"
ARTIFACTS = ROOT / "test-artifacts" / "monitoring"
FLOWER_AUTH = ("admin", uuid.uuid4().hex)
RUNAWAY_PAGES = 4000  # far longer than the soft time limit below allows
LIVE_ENV = {
    **TEST_ENV,
    "DOCQUEUE_TASK_SOFT_TIME_LIMIT_S": "3",
    "DOCQUEUE_TASK_TIME_LIMIT_S": "6",
    "DOCQUEUE_RETRY_BACKOFF_BASE_S": "0.5",
    "DOCQUEUE_RETRY_BACKOFF_MAX_S": "1",
    "DOCQUEUE_VISIBILITY_TIMEOUT_S": "30",
    "DOCQUEUE_MAX_RETRIES": "1",
    "DOCQUEUE_MAX_ATTEMPTS": "3",
    "DOCQUEUE_MAX_PAGES": "20000",
}
# Grafana's variables as the queries are evaluated here: Prometheus scrapes every second (the
# exporter every 3 s). A rate needs two scrapes around an increase inside its window; on a loaded
# CI machine scrapes time out now and then, so the window is wide enough to span a few misses.
RATE_INTERVAL = "60s"
STEP_S = 1.0


@dataclass
class Live:
    stack: Stack
    prometheus: Prometheus
    api_url: str
    flower_url: str
    worker_name: str
    started_at: float
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)  # task id -> final task
    expected: dict[str, str] = field(default_factory=dict)  # task id -> "state/code"
    pages_succeeded: int = 0


def runaway_pdf(label: str) -> bytes:
    """Full pages: extracting them takes well past the soft time limit, however fast the machine."""
    return make_pdf(RUNAWAY_PAGES, lambda number: f"{label} {page_text(number)}")


def exporter_python() -> Path:
    """The celery-exporter's own environment (`make deps` builds it; `make test` runs that first)."""
    assert EXPORTER_PYTHON.exists(), "the celery-exporter is missing: run `make deps` (or `make test`)"
    return EXPORTER_PYTHON


def run_load(live: Live, client: httpx.Client, blobs: Path, start_worker: Callable[[], object]) -> None:
    # A retry and a dead letter: the upload's storage is broken while the worker processes it.
    flaky = submit(client, labelled_pdf(2, f"flaky {uuid.uuid4()}"), "flaky.pdf")
    uploads = blobs / "uploads"
    shutil.move(uploads, uploads.with_suffix(".away"))
    uploads.write_text("not a directory")
    try:
        start_worker()
        wait_for(client, flaky, lambda task: task["state"] == "dead_lettered", timeout_s=60)
    finally:
        uploads.unlink()
        shutil.move(uploads.with_suffix(".away"), uploads)
    live.expected[flaky] = "dead_lettered/retries_exhausted"

    # Two runaways first: they hold both pool processes for the soft time limit, so the rest
    # waits in the queue (a backlog with an age) before it runs.
    submissions = {
        f"runaway-{n}.pdf": (
            runaway_pdf(f"runaway {n} {uuid.uuid4()}"),
            "dead_lettered/timeout",
        )
        for n in (1, 2)
    }
    good_pages = (1, 2, 3, 5, 8)
    for pages in good_pages:
        submissions[f"good-{pages}.pdf"] = (
            labelled_pdf(pages, f"good {pages} {uuid.uuid4()}"),
            "succeeded/none",
        )
    submissions["note.txt"] = (f"plain text {uuid.uuid4()}".encode(), "succeeded/none")
    # A scan: its page is read by OCR (the OCR panels need one).
    scan = image_file(page_images(labelled_pdf(1, f"scan {uuid.uuid4()}")), "PNG")
    submissions["scan.png"] = (scan, "succeeded/none")
    submissions["slow.pdf"] = (labelled_pdf(300, f"slow {uuid.uuid4()}"), "succeeded/none")
    submissions["corrupt-1.pdf"] = (corrupt_pdf(), "failed/corrupt_document")
    garbage = b"%PDF-1.4\n" + uuid.uuid4().bytes * 300 + b"\n%%EOF\n"
    submissions["corrupt-2.pdf"] = (garbage, "failed/corrupt_document")
    for name, (data, expected) in submissions.items():
        live.expected[submit(client, data, name)] = expected
    live.pages_succeeded = sum(good_pages) + 1 + 1 + 300
    # Some answers that are not 2xx, as real clients cause them.
    assert client.get(f"/v1/tasks/{uuid.uuid4().hex}").status_code == 404
    assert (
        httpx.get(f"{live.api_url}/v1/tasks", headers={"Authorization": "Bearer dq_nope"}).status_code == 401
    )
    for task_id in live.expected:
        live.outcomes[task_id] = wait_terminal(client, task_id, timeout_s=90)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("live-prometheus")
    with private_stack(root, LIVE_ENV) as private:
        stack, api_url = private.stack, private.api_url
        exporter_port, flower_port, worker_port = free_port(), free_port(), free_port()
        stack.start_exporter(exporter_python(), port=exporter_port)
        _, flower_url = stack.start_flower(port=flower_port, basic_auth=":".join(FLOWER_AUTH))
        prometheus = Prometheus(
            root / "prometheus",
            [
                Target("docqueue-api", api_url.removeprefix("http://")),
                Target("docqueue-worker", f"127.0.0.1:{worker_port}"),
                Target("celery-exporter", f"127.0.0.1:{exporter_port}", interval_s=3),
                Target("flower", f"127.0.0.1:{flower_port}", "/flower/metrics", FLOWER_AUTH),
            ],
        ).start()
        try:
            live = Live(stack, prometheus, api_url, flower_url, "live-worker", time.time())
            # The load starts once the first scrapes have read every counter at 0, so its increases
            # show in rate() (a series first seen at its final value has no rate).
            running = ("docqueue-api", "celery-exporter", "flower")
            assert wait_until(
                lambda: all(live.prometheus.targets().get(job) == "up" for job in running), timeout_s=60
            ), live.prometheus.targets()
            key = tenant_key(private.redis)

            def start_worker() -> object:
                env = {"DOCQUEUE_METRICS_PORT": str(worker_port)}
                worker = stack.start_worker(name=live.worker_name, concurrency=2, env=env)
                # Celery events are not kept: the exporter counts only what it receives, so the load
                # starts once it has heard this worker come online.
                # (It labels workers by host name only, so any worker_up line at 1 is this worker.)
                assert wait_until(
                    lambda: any(
                        line.startswith("celery_worker_up{") and line.endswith(" 1.0")
                        for line in httpx.get(f"http://127.0.0.1:{exporter_port}/metrics").text.splitlines()
                    ),
                    timeout_s=60,
                ), "the celery-exporter never saw the worker"
                return worker

            with httpx.Client(
                base_url=api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
            ) as client:
                run_load(live, client, root / "stack" / "blobs", start_worker)
            # Beat comes last: its own worker would answer the worker_up wait above too early. Its
            # reconciler runs are what DocqueueMaintenanceStalled counts (every job has ended, so a
            # run finds nothing to re-queue and the load's counts stay as they are).
            stack.start_beat(env={"DOCQUEUE_RECONCILE_INTERVAL_S": "1"})
            # A few scrapes after the last job ended, so every counter holds its final value.
            time.sleep(3)
            yield live
        finally:
            prometheus.stop()


def test_the_load_ended_as_its_documents_should(live: Live) -> None:
    got = {
        task_id: f"{task['state']}/{(task.get('error') or {}).get('code') or 'none'}"
        for task_id, task in live.outcomes.items()
    }
    assert got == live.expected


def test_prometheus_scrapes_api_worker_exporter_and_flower(live: Live) -> None:
    assert live.prometheus.wait_targets_up() == {
        "docqueue-api": "up",
        "docqueue-worker": "up",
        "celery-exporter": "up",
        "flower": "up",
    }


def test_every_dashboard_panel_query_returns_data(live: Live) -> None:
    queries = [query for path in DASHBOARDS for query in dashboards.queries(path)]
    assert len(queries) >= 30
    range_ = f"{math.ceil(time.time() - live.started_at) + 60}s"
    empty = []
    seen = []
    for query in queries:
        expr = query.resolved(RATE_INTERVAL, range_)
        series = live.prometheus.query_range(expr, live.started_at, time.time(), STEP_S)
        values = [float(value) for item in series for _, value in item["values"]]
        if not any(math.isfinite(value) for value in values):
            empty.append(f"{query}: {expr}")
        seen.append({"dashboard": query.dashboard, "panel": query.panel, "series": series})
    # What the panels showed, for a look (and for deploy/monitoring/render_overview.py).
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "panels.json").write_text(json.dumps(seen))
    assert not empty, "panels without data:\n" + "\n".join(empty)


def test_every_alert_expression_parses_and_every_rule_evaluates(live: Live) -> None:
    groups = live.prometheus.api("rules")["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert {group["file"] for group in groups} == {str(path) for path in RULE_FILES}
    assert len(rules) >= 8
    for rule in rules:
        live.prometheus.query(rule["query"])  # parses and evaluates now
        assert rule["health"] == "ok", (rule["name"], rule.get("lastError"))
    # The load dead-lettered two jobs: the alert saw it.
    states = {
        alert["labels"]["alertname"]: alert["state"] for alert in live.prometheus.api("alerts")["alerts"]
    }
    assert states.get("DocqueueDeadLettersGrowing") == "firing", states


def _value(live: Live, expr: str) -> float:
    result = live.prometheus.query(expr)
    assert result, f"no data: {expr}"
    return float(result[0]["value"][1])


def _settles(live: Live, expr: str, check: Callable[[float], bool], timeout_s: float = 30.0) -> bool:
    """Whether `expr` reaches a value passing `check`: the exporters see events, and Prometheus
    scrapes them, a moment after they happen."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = _value(live, expr)
        if check(value) or time.monotonic() > deadline:
            return check(value)
        time.sleep(1.0)


def test_worker_metrics_add_up_over_its_pool_processes(live: Live) -> None:
    def finished(outcome: str, code: str) -> float:
        return _value(
            live,
            f'sum(docqueue_tasks_finished_total{{outcome="{outcome}", error_code="{code}"}}) or vector(0)',
        )

    assert finished("succeeded", "none") == 8  # five good PDFs, a text, a scan, the slow one
    assert finished("failed", "corrupt_document") == 2
    assert finished("dead_lettered", "timeout") == 2
    assert finished("dead_lettered", "retries_exhausted") == 1
    assert _value(live, 'sum(docqueue_task_retries_total{task="documents.process"})') == 1
    assert _value(live, "sum(docqueue_dead_letters_total)") == 3
    # increase() sees the counters move (it extrapolates with the scrape timing, so only its sign
    # is asserted; that every series exists at 0 from start-up is a unit test of the catalogue).
    assert _value(live, "sum(increase(docqueue_dead_letters_total[10m]))") > 0
    assert _value(live, 'sum(increase(docqueue_tasks_finished_total{outcome="succeeded"}[10m]))') > 0
    assert _value(live, "max(docqueue_dead_letter_entries)") == 3
    assert _value(live, "sum(docqueue_pages_processed_total)") >= live.pages_succeeded
    assert _value(live, 'sum(docqueue_pages_processed_total{method="ocr"})') == 1  # the scan
    assert _value(live, "sum(docqueue_ocr_page_seconds_count)") == 1
    assert _value(live, 'sum(docqueue_tasks_submitted_total{task="documents.process"})') == len(live.expected)
    # The backlog waited behind the runaways: Prometheus saw it, and how old it got.
    assert _value(live, 'max_over_time(docqueue_queue_depth{queue="documents"}[10m])') >= 5
    assert _value(live, 'max_over_time(docqueue_queue_oldest_age_seconds{queue="documents"}[10m])') >= 1


def test_the_celery_exporter_sees_the_api_and_worker_events(live: Live) -> None:
    documents = 'name="documents.process"'
    # Sent events come from the API (uploads) and from the worker (the retry's re-publish).
    expected = len(live.expected)
    assert _settles(live, f"sum(celery_task_sent_total{{{documents}}})", lambda v: v == expected + 1)
    assert _settles(live, f"sum(celery_task_received_total{{{documents}}})", lambda v: v >= expected)
    # Celery's task events are fire-and-forget (no retry, no persistence): on this loaded machine
    # the exporter now and then misses one completion event. Our own counter is the exact one
    # (docqueue_tasks_finished_total, asserted above); the exporter's may trail it by one.
    assert _settles(live, f"sum(celery_task_succeeded_total{{{documents}}})", lambda v: v >= expected - 1)
    assert _settles(live, f"sum(celery_task_retried_total{{{documents}}})", lambda v: v >= 1)
    assert _value(live, "sum(celery_worker_up)") >= 1
    assert _value(live, 'max(celery_active_worker_count{queue_name="documents"})') >= 1


def test_the_celery_exporter_counts_the_reconcilers_runs(live: Live) -> None:
    # The series DocqueueMaintenanceStalled reads: beat's maintenance worker sends task events.
    runs = 'sum(celery_task_succeeded_total{name="maintenance.reconcile"}) or vector(0)'
    assert _settles(live, runs, lambda v: v >= 2, timeout_s=60), _value(live, runs)
    # ... and on these real series the alert's condition holds no more once runs are counted.
    [query] = [
        rule["query"]
        for group in live.prometheus.api("rules")["groups"]
        for rule in group["rules"]
        if rule["name"] == "DocqueueMaintenanceStalled"
    ]
    assert _settles(live, f"count({query}) or vector(0)", lambda v: v == 0), query


def test_flower_serves_under_its_prefix_with_basic_auth(live: Live) -> None:
    with httpx.Client(timeout=10) as anonymous:
        assert anonymous.get(f"{live.flower_url}/").status_code == 401
        # Nothing is served outside the prefix.
        assert anonymous.get(live.flower_url.removesuffix("/flower") + "/workers").status_code == 404
        assert anonymous.get(f"{live.flower_url}/api/workers").status_code == 401
    with httpx.Client(auth=FLOWER_AUTH, timeout=10) as flower:
        page = flower.get(f"{live.flower_url}/")
        assert page.status_code == 200
        # Every link stays under the prefix, so an ingress can route /flower unchanged.
        assert 'href="/flower/static/' in page.text
        assert "/static/" not in page.text.replace("/flower/static/", "")
        assert flower.get(f"{live.flower_url}/static/css/flower.css").status_code == 200
        workers = flower.get(f"{live.flower_url}/api/workers", params={"refresh": "1"}).json()
        assert any(name.startswith(live.worker_name) for name in workers), workers
        tasks = flower.get(f"{live.flower_url}/api/tasks").json()
        assert set(live.expected) <= set(tasks)
    succeeded = 'sum(flower_events_total{type="task-succeeded"})'
    # Best-effort events, as for the exporter above.
    assert _settles(live, succeeded, lambda v: v >= len(live.expected) - 1)
