"""helm lint --strict and kubernetes-validate --strict for every values file in ci/, on every
Kubernetes version the chart claims."""

from pathlib import Path

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from tests.chart.conftest import ci_values_ids
from tests.chart.render import CHART, CI_VALUES, Resource, helm

# Kinds that come from CRDs: kubernetes-validate knows only built-in kinds; the invariant tests
# check these by hand.
CRD_KINDS = {"ScaledObject", "TriggerAuthentication", "ServiceMonitor", "PrometheusRule"}


def claimed_versions() -> list[str]:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    versions: str = chart["annotations"]["docqueue.io/validated-kubernetes-versions"]
    return versions.split()


def test_ci_values_cover_the_required_scenarios() -> None:
    assert set(ci_values_ids()) >= {
        "default-values",
        "external-redis-tls-values",
        "s3-storage-values",
        "keda-off-values",
        "everything-on-values",
    }


@pytest.mark.parametrize("values", [None, *CI_VALUES], ids=["no-values", *ci_values_ids()])
def test_helm_lint_strict(values: Path | None) -> None:
    args = ["lint", "--strict", str(CHART)] + (["--values", str(values)] if values else [])
    answer = helm(*args, check=False)
    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert "[WARNING]" not in answer.stdout


def test_claimed_versions_are_the_ones_the_chart_requires() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    versions = claimed_versions()
    assert chart["kubeVersion"] == f">={versions[0]}.0-0"
    assert len(versions) >= 5


@pytest.mark.parametrize("version", claimed_versions())
def test_every_builtin_resource_validates_strictly(version: str, rendered: dict[str, list[Resource]]) -> None:
    checked = 0
    for stem, resources in rendered.items():
        for resource in resources:
            if resource["kind"] in CRD_KINDS:
                continue
            where = f"{stem}: {resource['kind']}/{resource['metadata']['name']} on {version}"
            try:
                kubernetes_validate.validate(resource, f"{version}.0", strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{where}: {exc.message} at {list(exc.path)}")
            checked += 1
    assert checked > 100


def test_the_kubernetes_validate_cli_agrees_on_the_plain_manifests() -> None:
    """The same tool as a user runs it, on the committed manifests (oldest and newest version)."""
    import subprocess
    import sys

    files = sorted(
        str(path) for path in (CHART.parents[1] / "k8s").rglob("*.yaml") if "kustomization" not in path.name
    )
    builtin = [f for f in files if yaml.safe_load(Path(f).read_text())["kind"] not in CRD_KINDS]
    for version in (claimed_versions()[0], claimed_versions()[-1]):
        answer = subprocess.run(
            [
                sys.executable,
                "-m",
                "kubernetes_validate",
                "--strict",
                "--quiet",
                "-k",
                f"{version}.0",
                *builtin,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert answer.returncode == 0, answer.stdout + answer.stderr
