"""values.yaml is documented value by value and values.schema.json accepts exactly its keys."""

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.render import CHART, CI_VALUES, render, template

VALUES_TEXT = (CHART / "values.yaml").read_text()
VALUES = yaml.safe_load(VALUES_TEXT)
SCHEMA = json.loads((CHART / "values.schema.json").read_text())
# Kubernetes objects passed through as they are (resources, affinity, securityContext, labels...).
PASSTHROUGH = {
    "commonLabels", "annotations", "podAnnotations", "labels", "nodeSelector", "affinity", "resources",
    "podSecurityContext", "containerSecurityContext",
}  # fmt: skip


def leaves(value: Any, path: str = "") -> list[str]:
    name = path.rsplit(".", 1)[-1]
    if isinstance(value, dict) and value and name not in PASSTHROUGH:
        return [
            leaf for key, item in value.items() for leaf in leaves(item, f"{path}.{key}" if path else key)
        ]
    return [path]


def schema_objects(node: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = [(path, node)] if node.get("type") == "object" else []
    for key, child in (node.get("properties") or {}).items():
        found += schema_objects(child, f"{path}.{key}" if path else key)
    return found


def test_every_value_is_documented_by_a_param_line() -> None:
    documented = dict(re.findall(r"^\s*## @param (\S+) (.+)$", VALUES_TEXT, re.M))
    assert sorted(set(leaves(VALUES)) - set(documented)) == []
    assert sorted(set(documented) - set(leaves(VALUES))) == [], "a @param names a value that does not exist"
    assert all(len(text.split()) >= 3 for text in documented.values())


def test_the_schema_closes_every_object_of_ours() -> None:
    for path, node in schema_objects(SCHEMA):
        if path.rsplit(".", 1)[-1] in PASSTHROUGH:
            continue
        assert node.get("additionalProperties") is False, path
        assert set(node["properties"]) == set(_get(VALUES, path)), path


def _get(values: dict[str, Any], path: str) -> dict[str, Any]:
    for key in filter(None, path.split(".")):
        values = values[key]
    return values


@pytest.mark.parametrize(
    "assignment", ["unknownTopLevel=1", "worker.autoscaling.keda.listLenght=5", "api.port=http"]
)
def test_the_schema_refuses_typos_and_wrong_types(assignment: str) -> None:
    with pytest.raises(RuntimeError, match="schema"):
        template(sets=[assignment])


def test_ci_values_files_use_only_known_values() -> None:
    for path in CI_VALUES:
        for leaf in filter(None, leaves(yaml.safe_load(path.read_text()) or {})):
            parent = leaf
            while parent and parent not in leaves(VALUES) and parent.rsplit(".", 1)[-1] not in PASSTHROUGH:
                parent = parent.rpartition(".")[0]
            assert parent, f"{path.name}: {leaf} is not a chart value"


def test_no_secret_value_is_needed_in_values() -> None:
    secret_like = [leaf for leaf in leaves(VALUES) if re.search(r"password|secret|token", leaf, re.I)]
    for leaf in secret_like:
        # Only names of Secrets and of keys in them, never a value.
        assert re.search(
            r"(existingSecret|Key|caSecret|secretName|key|generateSecrets|imagePullSecrets)$", leaf
        ), leaf


def copy_chart(tmp_path: Path, monitoring: dict[str, str]) -> Path:
    """The chart with a monitoring folder of our own (the real one belongs to deploy/monitoring)."""
    chart = tmp_path / "docqueue"
    shutil.copytree(
        CHART, chart, ignore=lambda folder, names: ["monitoring"] if folder.endswith("/files") else []
    )
    folder = chart / "files" / "monitoring"
    folder.mkdir()
    for name, content in monitoring.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(content)
    return chart


MONITORING_ON = ["monitoring.prometheusRule.enabled=true", "monitoring.grafanaDashboards.enabled=true"]


def test_monitoring_packages_every_rule_file_and_dashboard(tmp_path: Path) -> None:
    rules = {"groups": [{"name": "docqueue", "rules": [{"alert": "Backlog", "expr": "vector(1)"}]}]}
    more = {"groups": [{"name": "docqueue-redis", "rules": [{"alert": "RedisDown", "expr": "vector(0)"}]}]}
    promtool_test = {"rule_files": ["alerts.yaml"], "tests": []}
    dashboard = {"title": "docqueue overview", "panels": [{"type": "timeseries"}]}
    chart = copy_chart(
        tmp_path,
        {
            "alerts.yaml": yaml.safe_dump(rules),
            "rules/redis.yml": yaml.safe_dump(more),
            "alerts_test.yaml": yaml.safe_dump(promtool_test),
            "docqueue-overview.json": json.dumps(dashboard),
            "dashboards/by_stage.json": json.dumps({"title": "by stage", "panels": []}),
            "exported.json": json.dumps(
                {"dashboard": {"title": "exported", "panels": []}, "overwrite": True}
            ),
            "not-a-dashboard.json": json.dumps({"some": "data"}),
        },
    )
    resources = render(sets=MONITORING_ON, chart=chart)
    [rule] = [r for r in resources if r["kind"] == "PrometheusRule"]
    assert [g["name"] for g in rule["spec"]["groups"]] == ["docqueue", "docqueue-redis"]
    maps = {
        r["metadata"]["name"]: r
        for r in resources
        if r["kind"] == "ConfigMap" and "dashboard" in r["metadata"]["name"]
    }
    assert set(maps) == {
        "docqueue-dashboard-docqueue-overview",
        "docqueue-dashboard-by-stage",
        "docqueue-dashboard-exported",
    }
    assert json.loads(maps["docqueue-dashboard-exported"]["data"]["exported.json"]) == {
        "title": "exported",
        "panels": [],
    }
    overview = maps["docqueue-dashboard-docqueue-overview"]
    assert overview["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(overview["data"]["docqueue-overview.json"]) == dashboard


def test_monitoring_renders_nothing_without_files(tmp_path: Path) -> None:
    resources = render(sets=MONITORING_ON, chart=copy_chart(tmp_path, {}))
    assert not [r for r in resources if r["kind"] == "PrometheusRule" or "dashboard" in r["metadata"]["name"]]


def test_monitoring_is_off_by_default(tmp_path: Path) -> None:
    chart = copy_chart(tmp_path, {"a.yaml": yaml.safe_dump({"groups": []}), "d.json": '{"panels": []}'})
    kinds = {r["kind"] for r in render(chart=chart)}
    assert not kinds & {"PrometheusRule", "ServiceMonitor"}


def test_the_schema_describes_every_value_as_its_param_line_does() -> None:
    documented = dict(re.findall(r"^\s*## @param (\S+) (.+)$", VALUES_TEXT, re.M))
    differ = {}
    for path, text in documented.items():
        node: dict[str, Any] = SCHEMA
        for key in path.split("."):
            node = (node.get("properties") or {}).get(key, {})
        if node.get("description") != text:
            differ[path] = (node.get("description"), text)
    assert differ == {}, "values.schema.json and the @param lines disagree (schema, @param)"
