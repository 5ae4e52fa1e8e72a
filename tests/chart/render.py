"""Render the chart and pick resources out of what it produced (the rendering itself is
docqueue_devstack.chart, which `make manifests` uses too)."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from docqueue_devstack.chart import (
    CHART,
    CI_VALUES,
    NAMESPACE,
    RELEASE,
    REPO,
    Resource,
    helm,
    helm_binary,
    load,
    template,
)

__all__ = [
    "CHART",
    "CI_VALUES",
    "NAMESPACE",
    "RELEASE",
    "REPO",
    "Resource",
    "helm",
    "helm_binary",
    "load",
    "template",
]


def render(values: Sequence[Path] = (), sets: Sequence[str] = (), chart: Path = CHART) -> list[Resource]:
    return load(template(values, sets, chart))


def is_test_hook(resource: Resource) -> bool:
    annotations = resource.get("metadata", {}).get("annotations") or {}
    return annotations.get("helm.sh/hook") == "test"


def by_kind(resources: Sequence[Resource], kind: str) -> list[Resource]:
    return [r for r in resources if r["kind"] == kind]


def named(resources: Sequence[Resource], kind: str, name: str) -> Resource:
    matches = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def pod_templates(resources: Sequence[Resource]) -> list[tuple[Resource, Resource]]:
    """(owner, pod spec) of every workload and bare Pod."""
    out = []
    for resource in resources:
        if resource["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            out.append((resource, resource["spec"]["template"]))
        elif resource["kind"] == "Pod":
            out.append((resource, resource))
    return out


def env_of(container: Resource) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container.get("env", [])}
