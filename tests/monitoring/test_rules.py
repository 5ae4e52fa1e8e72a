"""The alert rules and dashboards as files: promtool checks and unit-tests the rules, every alert
is tested firing and not firing and has a runbook paragraph, every dashboard is well formed and
uses only metrics that exist."""

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from docqueue.metrics import api_metrics, worker_metrics
from tests.monitoring import dashboards
from tests.monitoring.prometheus import DASHBOARDS, MONITORING, RULE_FILES, RULE_TESTS, binary

RUNBOOK = MONITORING / "README.md"
# Metrics the dashboards may use that come from outside docqueue's own code.
FOREIGN_PREFIXES = ("celery_", "flower_")
# Computed at scrape time by docqueue.metrics_queues and served by events/source.py.
SCRAPE_TIME_METRICS = {
    "docqueue_queue_depth",
    "docqueue_queue_oldest_age_seconds",
    "docqueue_dead_letter_entries",
    "docqueue_redis_up",
    "docqueue_sse_connections",
}


def alerts() -> list[dict[str, Any]]:
    return [
        rule
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def promtool(*args: str | Path) -> str:
    result = subprocess.run(
        [binary("promtool"), *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_promtool_checks_the_rules() -> None:
    assert RULE_FILES
    out = promtool("check", "rules", *RULE_FILES)
    assert f"SUCCESS: {len(alerts())} rules found" in out


def test_promtool_unit_tests_pass() -> None:
    assert RULE_TESTS
    assert "SUCCESS" in promtool("test", "rules", *RULE_TESTS)


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    fired: set[str] = set()
    silent: set[str] = set()
    for path in RULE_TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                (fired if case.get("exp_alerts") else silent).add(case["alertname"])
    names = {rule["alert"] for rule in alerts()}
    assert names == fired, f"never tested firing: {names - fired}"
    assert names == silent, f"never tested silent: {names - silent}"


def test_every_alert_has_a_severity_and_a_runbook_paragraph() -> None:
    runbook = RUNBOOK.read_text()
    headings = {match.lower() for match in re.findall(r"^### (\w+)", runbook, flags=re.MULTILINE)}
    for rule in alerts():
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        anchor = rule["annotations"]["runbook"].rpartition("#")[2]
        assert anchor == rule["alert"].lower()
        assert anchor in headings, f"{rule['alert']} has no runbook paragraph in {RUNBOOK.name}"
        paragraph = runbook.split(f"### {rule['alert']}", 1)[1].split("\n### ", 1)[0]
        assert len(paragraph.split()) > 40, f"{rule['alert']}: the runbook paragraph is too thin"


def test_dashboards_are_well_formed_and_use_metrics_that_exist() -> None:
    known = set(SCRAPE_TIME_METRICS)
    for metrics in (api_metrics(), worker_metrics()):
        for metric in vars(metrics).values():
            if hasattr(metric, "_name"):
                known.add(metric._name)
    assert {path.name for path in DASHBOARDS} == {"docqueue-overview.json", "docqueue-drilldown.json"}
    uids = set()
    for path in DASHBOARDS:
        board = dashboards.load(path)
        uids.add(board["uid"])
        ids = [panel["id"] for panel in dashboards.panels(board)]
        assert len(ids) == len(set(ids)), f"{path.name}: panel ids repeat"
        for panel in dashboards.panels(board):
            if panel["type"] == "row":
                continue
            assert panel["targets"], f"{path.name}: {panel['title']} has no query"
            assert panel["datasource"]["uid"] == "${datasource}"
        for query in dashboards.queries(path):
            for name in re.findall(r"\b((?:docqueue|celery|flower)_[a-z_]+)", query.expr):
                base = re.sub(r"_(total|bucket|sum|count)$", "", name)
                assert base in known or name.startswith(FOREIGN_PREFIXES), f"{query}: unknown metric {name}"
    assert len(uids) == len(DASHBOARDS)
