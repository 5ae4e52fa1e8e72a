"""`docqueue dead-letters`: list, show, replay and purge what docqueue gave up on (admin scope)."""

import json
from typing import Annotated

import typer
from rich.console import Console

from docqueue_client.cli_options import JsonOpt, KeyOpt, UrlOpt, emit
from docqueue_client.client import Client

app = typer.Typer(help=__doc__, no_args_is_help=True)


@app.command("list")
def list_letters(
    limit: Annotated[int, typer.Option(min=1, help="show at most this many")] = 50,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Dead letters, newest first."""
    with Client(url, api_key) as client:
        letters = list(client.dead_letters.list(limit=limit))
    rows = [
        {
            "task_id": letter["task_id"],
            "error_code": letter["error_code"],
            "attempts": letter["attempts"],
            "dead_lettered_at": letter["dead_lettered_at"],
            "error_message": letter["error_message"][:80],
        }
        for letter in letters
    ]
    emit(rows, as_json, ["task_id", "error_code", "attempts", "dead_lettered_at", "error_message"])


@app.command()
def show(task_id: str, url: UrlOpt = None, api_key: KeyOpt = None, as_json: JsonOpt = False) -> None:
    """One dead letter: error, traceback and every attempt."""
    with Client(url, api_key) as client:
        letter = client.dead_letters.get(task_id)
    if as_json:
        print(json.dumps(letter, indent=2))
        return
    console = Console()
    console.print(f"[bold]{letter['task_id']}[/bold]  {letter['error_code']}: {letter['error_message']}")
    console.print(
        f"task {letter['task_name']}, {letter['attempts']} attempts, at {letter['dead_lettered_at']}"
    )
    for entry in letter["history"]:
        details = ", ".join(f"{k}={v}" for k, v in entry.items() if k not in ("event", "at"))
        console.print(f"  - {entry.get('event')}  {details}")
    if letter["traceback"]:
        console.print(letter["traceback"], markup=False, highlight=False)


@app.command()
def replay(task_id: str, url: UrlOpt = None, api_key: KeyOpt = None, as_json: JsonOpt = False) -> None:
    """Queue a dead-lettered task again under the same id (its history is kept)."""
    with Client(url, api_key) as client:
        status = client.dead_letters.replay(task_id)
    if as_json:
        print(json.dumps(status.raw, indent=2))
    else:
        print(f"{status.task_id}  {status.state}")


@app.command()
def purge(
    task_id: Annotated[str | None, typer.Argument(help="one task id; omit with --all")] = None,
    purge_all: Annotated[bool, typer.Option("--all", help="purge every dead letter of the tenant")] = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Forget one dead letter (TASK_ID) or all of them (--all); the tasks stay dead_lettered."""
    if (task_id is None) == (not purge_all):
        raise typer.BadParameter("give a TASK_ID or --all, not both")
    with Client(url, api_key) as client:
        purged = client.dead_letters.purge(task_id)
    print(json.dumps({"purged": purged}) if as_json else f"purged {purged}")
