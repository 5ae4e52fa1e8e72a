"""The docs site stays true to the code: the settings reference is generated, the README stays a
landing page whose links resolve. (`make docs-check` builds the site with --strict in CI.)"""

import re
from pathlib import Path

from docqueue.errors import ErrorCode
from docqueue_devstack import errors_reference
from docqueue_devstack.settings_reference import SECTIONS, field_comments, render

ROOT = Path(__file__).resolve().parents[2]


def test_the_settings_reference_is_current() -> None:
    committed = (ROOT / "docs" / "reference" / "settings.md").read_text()
    assert committed == render(), "docs/reference/settings.md is stale: run `make docs-reference`"


def test_the_error_code_reference_is_current_and_complete() -> None:
    committed = (ROOT / "docs" / "reference" / "errors.md").read_text()
    assert committed == errors_reference.render(), (
        "docs/reference/errors.md is stale: run `make docs-reference`"
    )
    assert set(errors_reference.MEANINGS) == {code.value for code in ErrorCode}


def test_every_setting_says_what_it_is() -> None:
    undocumented = [
        f"{cls.__name__}.{name}"
        for _, cls in SECTIONS
        for name, text in field_comments(cls).items()
        if not text
    ]
    assert not undocumented, f"settings without a comment above them: {undocumented}"


def test_the_readme_is_a_landing_page_whose_links_resolve() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    assert readme.index("make run") < readme.index("make test") < readme.index("## Architecture")
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    assert len(targets) >= 10
    missing = [t for t in targets if not t.startswith("http") and not (ROOT / t).exists()]
    assert not missing, missing
