"""The chart rendered with `helm template`: for `make manifests` (docqueue_devstack.manifests)
and the chart tests (tests/chart), which build their assertions on these."""

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

# The workspace installs this package from its source tree: packages/devstack/src/docqueue_devstack.
REPO = Path(__file__).resolve().parents[4]
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
