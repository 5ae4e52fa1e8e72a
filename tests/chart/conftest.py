"""Each values file in the chart's ci/ folder rendered once per session."""

from pathlib import Path

import pytest

from tests.chart.render import CI_VALUES, Resource, render


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[Resource]]:
    """values file stem -> rendered resources."""
    return {path.stem: render([path]) for path in CI_VALUES}


@pytest.fixture(scope="session")
def defaults(rendered: dict[str, list[Resource]]) -> list[Resource]:
    return rendered["default-values"]


def ci_values_ids() -> list[str]:
    return [path.stem for path in CI_VALUES]


def ci_values_path(stem: str) -> Path:
    return next(path for path in CI_VALUES if path.stem == stem)
