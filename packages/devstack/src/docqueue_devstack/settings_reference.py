"""docs/reference/settings.md, written from the settings classes so the page cannot drift.

Each field's text is the comment block right above it in the class's source (the code documents
its settings in comments, STYLE.md 7); its default comes from the class itself.
`make docs-reference` writes the page; tests/docs checks the committed page is current.
"""

import ast
import inspect
import sys
from enum import Enum

from pydantic import AliasChoices
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from docqueue.redis_url import REDIS_URL_VARIABLES
from docqueue.settings import Settings
from docqueue_api.settings import ApiSettings
from docqueue_beat.settings import BeatSettings
from docqueue_worker.settings import WorkerSettings

SECTIONS: list[tuple[str, type[Settings]]] = [
    ("Every process (api, worker, beat)", Settings),
    ("API", ApiSettings),
    ("Worker", WorkerSettings),
    ("Beat", BeatSettings),
]


def field_comments(cls: type) -> dict[str, str]:
    """Field name -> the comment lines right above its annotation in the class body."""
    source = inspect.getsource(cls)
    lines = source.splitlines()
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.ClassDef)
    comments = {}
    for statement in node.body:
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            above = []
            row = statement.lineno - 2
            # Contiguous comment lines, up to a blank line or a "# --- section ---" rule.
            while row >= 0 and is_comment(lines[row]):
                above.append(lines[row].strip().removeprefix("#").strip())
                row -= 1
            comments[statement.target.id] = " ".join(reversed(above))
    return comments


def is_comment(line: str) -> bool:
    text = line.strip()
    return text.startswith("#") and not text.startswith("# ---")


def default_of(info: FieldInfo) -> str:
    value = info.default
    if value is PydanticUndefined and info.default_factory is not None:
        return "(computed)"
    if isinstance(value, Enum):
        value = value.value
    if value is None or value == "":
        return "unset"
    if hasattr(value, "get_secret_value"):
        return "unset"
    return f"`{value}`"


def variables(name: str, info: FieldInfo) -> str:
    """The field's variable, and the names it is also read from (a renamed setting's old one)."""
    alias = info.validation_alias
    names = [str(choice) for choice in alias.choices] if isinstance(alias, AliasChoices) else []
    main = f"`DOCQUEUE_{name.upper()}`"
    older = [f"`{other}`" for other in names if other != f"DOCQUEUE_{name.upper()}"]
    return f"{main} (also {', '.join(older)})" if older else main


def render() -> str:
    out = [
        "# Settings reference",
        "",
        "Generated from the settings classes by `make docs-reference` (do not edit by hand). Every",
        "variable is the field's name in upper case after the `DOCQUEUE_` prefix. The Redis URL is",
        f"also read from `{REDIS_URL_VARIABLES[1]}`: see [Configuration](../configuration.md).",
    ]
    shown: set[str] = set()
    for title, cls in SECTIONS:
        comments = field_comments(cls)
        rows = [
            (name, info) for name, info in cls.model_fields.items() if name not in shown and name in comments
        ]
        if not rows:
            continue
        out += ["", f"## {title}", "", "| variable | default | meaning |", "|---|---|---|"]
        for name, info in rows:
            text = comments[name].replace("|", "\\|") or "(no comment in the source)"
            out.append(f"| {variables(name, info)} | {default_of(info)} | {text} |")
            shown.add(name)
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
