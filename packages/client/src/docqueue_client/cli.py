"""`docqueue`: submit documents, watch them, fetch results.

Reads the API URL and key from --url/--api-key or DOCQUEUE_URL/DOCQUEUE_API_KEY.
"""

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from docqueue_client.client import Client
from docqueue_client.errors import DocqueueError
from docqueue_client.models import Task

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
console = Console(stderr=True)

UrlOpt = Annotated[str | None, typer.Option("--url", envvar="DOCQUEUE_URL", help="API base URL")]
KeyOpt = Annotated[str | None, typer.Option("--api-key", envvar="DOCQUEUE_API_KEY", help="API key")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]


def _client(url: str | None, api_key: str | None) -> Client:
    return Client(url, api_key)


@app.command()
def submit(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True)],
    wait: Annotated[bool, typer.Option("--wait", help="follow each task until it ends")] = False,
    chunk_size: Annotated[int | None, typer.Option(help="characters per chunk")] = None,
    chunk_overlap: Annotated[
        int | None, typer.Option(help="characters shared by neighbouring chunks")
    ] = None,
    parallel: Annotated[int, typer.Option(min=1, max=32, help="uploads at once")] = 4,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Upload FILES; with --wait, show a progress bar per file until each task ends."""
    with _client(url, api_key) as client, ThreadPoolExecutor(max_workers=parallel) as pool:
        accepted = list(
            pool.map(lambda f: client.submit(f, chunk_size=chunk_size, chunk_overlap=chunk_overlap), files)
        )
        if not wait:
            rows = [
                {"file": str(f), "task_id": a.task_id, "state": a.state, "status_url": a.status_url}
                for f, a in zip(files, accepted, strict=True)
            ]
            _emit(rows, as_json, ["file", "task_id", "state", "status_url"])
            return
        started = time.monotonic()
        finals = _follow(
            client, [(str(f), a.task_id) for f, a in zip(files, accepted, strict=True)], quiet=as_json
        )
        rows = [_summary(name, task, client, time.monotonic() - started) for name, task in finals]
    _emit(rows, as_json, ["file", "task_id", "state", "pages", "chunks", "seconds", "result"])
    if any(task.state != "succeeded" for _, task in finals):
        raise typer.Exit(1)


def _follow(client: Client, items: list[tuple[str, str]], quiet: bool) -> list[tuple[str, Task]]:
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
               TextColumn("{task.fields[state]}"), TimeElapsedColumn())  # fmt: skip
    finals: dict[str, Task] = {}
    with Progress(*columns, console=console, disable=quiet) as progress:
        bars: dict[str, TaskID] = {
            task_id: progress.add_task(name, total=100.0, state="queued") for name, task_id in items
        }
        while len(finals) < len(items):
            for _, task_id in items:
                if task_id in finals:
                    continue
                task = client.get(task_id)
                progress.update(bars[task_id], completed=task.percent, state=_state_text(task))
                if task.is_terminal:
                    finals[task_id] = task
            time.sleep(0.3)
    return [(name, finals[task_id]) for name, task_id in items]


def _state_text(task: Task) -> str:
    if task.state == "running":
        return f"{task.stage} {task.pages_done}/{task.pages_total}"
    if task.error and task.state != "succeeded":
        return f"{task.state}: {task.error.get('code')}"
    return task.state


def _summary(name: str, task: Task, client: Client, seconds: float) -> dict[str, Any]:
    chunks: int | str = ""
    if task.state == "succeeded":
        chunks = len(client.result(task.task_id)["chunks"])
    return {
        "file": name,
        "task_id": task.task_id,
        "state": _state_text(task) if task.state != "succeeded" else "succeeded",
        "pages": task.pages_total,
        "chunks": chunks,
        "seconds": round(seconds, 1),
        "result": task.result_url if task.state == "succeeded" else "",
    }


@app.command()
def status(task_id: str, url: UrlOpt = None, api_key: KeyOpt = None, as_json: JsonOpt = False) -> None:
    """Show a task's state and progress."""
    with _client(url, api_key) as client:
        task = client.get(task_id)
    if as_json:
        print(json.dumps(task.raw, indent=2))
        return
    print(f"{task.task_id}  {_state_text(task)}  {task.percent:.1f}%  attempts={task.attempts}")
    if task.state == "succeeded":
        print(f"result: {task.result_url}")


@app.command()
def result(
    task_id: str,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write the JSON here")] = None,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """Fetch a succeeded task's result (pages and chunks) as JSON."""
    with _client(url, api_key) as client:
        body = client.result(task_id)
    text = json.dumps(body, indent=2, ensure_ascii=False)
    if output is None:
        print(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        console.print(f"wrote {output} ({len(body['pages'])} pages, {len(body['chunks'])} chunks)")


@app.command()
def cancel(task_id: str, url: UrlOpt = None, api_key: KeyOpt = None) -> None:
    """Cancel a queued or running task."""
    with _client(url, api_key) as client:
        task = client.cancel(task_id)
    print(f"{task.task_id}  {task.state}")


@app.command("list")
def list_tasks(
    state: Annotated[str | None, typer.Option(help="only tasks in this state")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List your most recent tasks."""
    with _client(url, api_key) as client:
        tasks, _ = client.list(state=state, limit=limit)
    rows = [
        {"task_id": t.task_id, "file": t.filename, "state": _state_text(t), "percent": t.percent}
        for t in tasks
    ]
    _emit(rows, as_json, ["task_id", "file", "state", "percent"])


def _emit(rows: list[dict[str, Any]], as_json: bool, columns: list[str]) -> None:
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(*columns)
    for row in rows:
        table.add_row(*(str(row[column]) for column in columns))
    Console().print(table)


def main() -> None:
    try:
        app()
    except DocqueueError as exc:
        console.print(f"[red]error[/red] {exc.status} {exc.code}: {exc.detail}")
        sys.exit(2)
