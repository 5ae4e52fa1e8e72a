"""deploy/k8s/ is exactly what `make manifests` renders from the chart now."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from docqueue_devstack.manifests import file_name, render_manifests, render_sentinel_manifests
from tests.chart.render import CI_VALUES, RELEASE, REPO, load, template

K8S = REPO / "deploy" / "k8s"


@pytest.mark.parametrize(
    ("directory", "render"), [(K8S, render_manifests), (K8S / "sentinel", render_sentinel_manifests)]
)
def test_plain_manifests_match_the_chart(directory: Path, render: Callable[[], dict[str, str]]) -> None:
    expected = render()
    committed = {path.name: path.read_text() for path in directory.iterdir() if path.is_file()}
    stale = sorted(name for name in expected if committed.get(name) != expected[name])
    extra = sorted(set(committed) - set(expected))
    drifted = stale + extra
    assert not drifted, (
        f"deploy/k8s drifted from the chart (changed or missing: {stale}; not rendered any more: {extra}): "
        "run `make manifests` and commit the result"
    )


def test_plain_manifests_hold_no_secret_and_no_test_hook() -> None:
    contents = render_manifests()
    assert not any(name.endswith("-secret.yaml") for name in contents)
    assert not any("helm.sh/hook" in text for text in contents.values())
    assert "docqueue-worker-scaledobject.yaml" in contents
    sentinel = render_sentinel_manifests()
    assert "docqueue-redis-node-statefulset.yaml" in sentinel
    assert "docqueue-redis-statefulset.yaml" not in sentinel
    assert not any(name.endswith("-secret.yaml") for name in sentinel)


# Templates that render one resource per entry of a list, so no one name fits the template.
MANY_FROM_ONE = {"monitoring/monitoring-dashboards-configmap.yaml"}


@pytest.mark.parametrize("values", [None, *CI_VALUES], ids=lambda v: v.stem if v else "defaults")
def test_each_resource_comes_from_the_template_named_like_its_manifest(values: Path | None) -> None:
    """deploy/k8s/<release>-<name>-<kind>.yaml comes from templates/<component>/<name>-<kind>.yaml:
    one name for a resource whether one reads the chart or the plain manifests."""
    rendered = template([values] if values else [])
    wrong = []
    for text in re.split(r"^---$", rendered, flags=re.M):
        source = re.search(r"^# Source: docqueue/templates/(\S+)", text, re.M)
        resources = load(text)
        if not source or not resources or source.group(1) in MANY_FROM_ONE:
            continue
        expected = file_name(resources[0]).removeprefix(f"{RELEASE}-")
        if Path(source.group(1)).name != expected:
            wrong.append(f"{source.group(1)} renders {expected}")
    assert not wrong, wrong
