"""Render the chart with `helm template` and load what it produced."""

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "docqueue"
CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))
RELEASE = "docqueue"
NAMESPACE = "docqueue"

Resource = dict[str, Any]


def helm_binary() -> str:
    """helm from PATH, else the private copy `make` installs under .tools/."""
    found = shutil.which("helm") or str(REPO / ".tools" / "bin" / "helm")
    if not os.access(found, os.X_OK):
        raise RuntimeError("helm not found: run `make chart-test` (it installs helm) or put helm on PATH")
    return found


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm_binary(), *args], capture_output=True, text=True, timeout=120, check=check)


def template(
    values: Sequence[Path] = (),
    sets: Sequence[str] = (),
    chart: Path = CHART,
    extra: Sequence[str] = (),
) -> str:
    args = ["template", RELEASE, str(chart), "--namespace", NAMESPACE]
    for path in values:
        args += ["--values", str(path)]
    for assignment in sets:
        args += ["--set", assignment]
    answer = helm(*args, *extra, check=False)
    if answer.returncode != 0:
        raise RuntimeError(f"helm template failed:\n{answer.stderr}")
    return answer.stdout


def load(rendered: str) -> list[Resource]:
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


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
