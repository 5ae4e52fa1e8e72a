"""`docqueue submit --batch` and `docqueue batch`: many documents as one batch."""

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from docqueue_client.cli_options import JsonOpt, KeyOpt, UrlOpt, emit
from docqueue_client.client import Client
from docqueue_client.models import BatchStatus

app = typer.Typer(help="Follow, list and cancel batches.", no_args_is_help=True)
console = Console(stderr=True)

MEMBER_COLUMNS = ["file", "state", "pages", "error", "task_id"]


def batch_files(paths: list[Path]) -> list[Path]:
    """The files named, and the files in the directories named (recursively, hidden ones left
    out), in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                child
                for child in path.rglob("*")
                if child.is_file() and not any(part.startswith(".") for part in child.relative_to(path).parts)
            )
        else:
            found.append(path)
    return found


def submit_batch(
    client: Client, files: list[Path], urls: list[str], options: dict[str, Any], wait: bool, quiet: bool
) -> tuple[list[dict[str, Any]], bool]:
    """Submit one batch; with `wait`, one overall bar until it ends. The members' rows, and
    whether every member succeeded (or, without `wait`, was accepted)."""
    options = {name: value for name, value in options.items() if name != "wait_s"}
    batch = client.batches.submit(files, urls=urls, **options)
    if not quiet:
        console.print(f"batch {batch.batch_id}: {len(batch.task_ids)} members")
    if not wait:
        rows = [_accepted_row(member) for member in batch.accepted["members"]]
        return rows, all(row["state"] != "failed" for row in rows)
    columns = (TextColumn("[bold]batch"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
               TextColumn("{task.fields[state]}"), TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console, disable=quiet) as progress:
        bar = progress.add_task("", total=100.0, state="waiting")

        def show(status: BatchStatus) -> None:
            done = 100.0 * status.done / status.total if status.total else 0.0
            progress.update(bar, completed=done, state=_batch_text(status))

        final = batch.wait(on_progress=show)
    rows = [_member_row(member) for member in batch.members()]
    return rows, final.succeeded


def _batch_text(status: BatchStatus) -> str:
    failed = (
        status.total
        - status.counts.get("succeeded", 0)
        - sum(status.counts.get(state, 0) for state in ("queued", "running", "retrying"))
    )
    return (
        f"{status.done}/{status.total} ended, {failed} not succeeded, "
        f"pages {status.pages_done}/{status.pages_total}"
    )


def _accepted_row(member: dict[str, Any]) -> dict[str, Any]:
    error = member.get("error") or {}
    return {
        "file": member["filename"],
        "state": member["state"],
        "pages": "",
        "error": error.get("code", ""),
        "task_id": member["task_id"],
    }


def _member_row(member: dict[str, Any]) -> dict[str, Any]:
    error = member.get("error") or {}
    progress = member.get("progress") or {}
    return {
        "file": member.get("filename") or member["task_id"],
        "state": member.get("state") or "expired",
        "pages": progress.get("pages_total", ""),
        "error": error.get("code", ""),
        "task_id": member["task_id"],
    }


@app.command()
def status(
    batch_id: str,
    members: Annotated[bool, typer.Option("--members", help="list every member too")] = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A batch's state, counts per state and pages."""
    with Client(url, api_key) as client:
        batch = client.batches.get(batch_id)
        rows = [_member_row(member) for member in client.batches.members(batch_id)] if members else []
    if as_json:
        print(json.dumps({**batch.raw, "members": rows if members else None}, indent=2))
        return
    print(f"{batch.batch_id}  {batch.state}  {_batch_text(batch)}")
    if members:
        emit(rows, False, MEMBER_COLUMNS)


@app.command()
def watch(batch_id: str, url: UrlOpt = None, api_key: KeyOpt = None, as_json: JsonOpt = False) -> None:
    """Follow a batch live until it ends; exits 1 unless every member succeeded."""
    with Client(url, api_key) as client:
        if as_json:
            final = client.batches.wait(batch_id, on_progress=lambda b: print(json.dumps(b.raw), flush=True))
        else:
            final = client.batches.wait(batch_id, on_progress=lambda b: console.print(_batch_text(b)))
            print(f"{final.batch_id}  {final.state}")
    if not final.succeeded:
        raise typer.Exit(1)


@app.command()
def cancel(batch_id: str, url: UrlOpt = None, api_key: KeyOpt = None, as_json: JsonOpt = False) -> None:
    """Cancel every member of a batch that has not ended."""
    with Client(url, api_key) as client:
        batch = client.batches.cancel(batch_id)
    print(
        json.dumps(batch.raw, indent=2)
        if as_json
        else f"{batch.batch_id}  {batch.state}  {_batch_text(batch)}"
    )


@app.command("list")
def list_batches(
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Your most recent batches."""
    with Client(url, api_key) as client:
        batches, _ = client.batches.list(limit=limit)
    rows = [{"batch_id": b.batch_id, "state": b.state, "members": b.total, "ended": b.done} for b in batches]
    emit(rows, as_json, ["batch_id", "state", "members", "ended"])
