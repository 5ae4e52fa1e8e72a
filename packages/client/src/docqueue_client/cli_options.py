"""Options and output shared by every `docqueue` command."""

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

UrlOpt = Annotated[str | None, typer.Option("--url", envvar="DOCQUEUE_URL", help="API base URL")]
KeyOpt = Annotated[str | None, typer.Option("--api-key", envvar="DOCQUEUE_API_KEY", help="API key")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]


def emit(rows: list[dict[str, Any]], as_json: bool, columns: list[str]) -> None:
    """Rows as a table for people, or as JSON for scripts."""
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(*columns)
    for row in rows:
        table.add_row(*(str(row.get(column, "")) for column in columns))
    Console().print(table)
