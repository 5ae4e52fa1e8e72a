"""deploy/k8s/ is exactly what `make manifests` renders from the chart now."""

from collections.abc import Callable
from pathlib import Path

import pytest

from docqueue_devstack.manifests import render_manifests, render_sentinel_manifests
from tests.chart.render import REPO

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
