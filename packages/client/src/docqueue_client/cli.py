"""`docqueue`: submit documents, watch them live, fetch results.

Reads the API URL and key from --url/--api-key or DOCQUEUE_URL/DOCQUEUE_API_KEY. Every command
takes --json for scripts. Shell completion: `docqueue --install-completion`.
"""

import json
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from docqueue_client import batches_cli, dead_letters_cli
from docqueue_client.cli_options import JsonOpt, KeyOpt, UrlOpt, emit
from docqueue_client.client import Client
from docqueue_client.errors import DocqueueError
from docqueue_client.models import TaskStatus

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(dead_letters_cli.app, name="dead-letters")
app.add_typer(batches_cli.app, name="batch")
console = Console(stderr=True)

SUMMARY_COLUMNS = ["file", "state", "pages", "chunks", "warnings", "seconds", "task_id"]


def _client(url: str | None, api_key: str | None) -> Client:
    return Client(url, api_key)


@app.command()
def submit(
    files: Annotated[
        list[Path] | None,
        typer.Argument(exists=True, readable=True, help="files (with --batch, directories too)"),
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="follow each task live until it ends")] = False,
    batch: Annotated[
        bool,
        typer.Option(
            "--batch",
            help="submit everything as one batch (directories are read recursively): one request, "
            "one overall bar, one webhook",
        ),
    ] = False,
    sources: Annotated[
        list[str] | None,
        typer.Option("--source", metavar="URL", help="a URL the workers fetch (https://, s3://); repeatable"),
    ] = None,
    chunk_size: Annotated[int | None, typer.Option(help="characters (or tokens) per chunk")] = None,
    chunk_overlap: Annotated[
        int | None, typer.Option(help="characters (or tokens) shared by neighbouring chunks")
    ] = None,
    chunk_by: Annotated[str | None, typer.Option(help="what chunk sizes count: characters or tokens")] = None,
    callback_url: Annotated[
        str | None, typer.Option(help="https URL that gets a signed POST when each task ends")
    ] = None,
    engine: Annotated[str | None, typer.Option(help="PDF engine: pypdf or pdfium")] = None,
    ocr: Annotated[
        str | None, typer.Option(help="auto (pages without a text layer), always or never")
    ] = None,
    ocr_languages: Annotated[str | None, typer.Option(help='Tesseract languages, e.g. "eng+deu"')] = None,
    parallel: Annotated[int, typer.Option(min=1, max=32, help="uploads at once")] = 4,
    prefer_wait: Annotated[
        int | None,
        typer.Option(
            "--prefer-wait",
            min=1,
            max=300,
            metavar="SECONDS",
            help="ask the API to answer with the finished task when it ends within SECONDS (Prefer: wait)",
        ),
    ] = None,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Upload FILES in parallel (or, with --batch, as one batch); with --wait, live bars, then a
    summary. Exits 1 if any file was refused or its task did not succeed."""
    paths = list(files or [])
    with _client(url, api_key) as client:
        options = {
            "chunk_size": chunk_size,
            "chunk_overlap": chunk_overlap,
            "chunk_by": chunk_by,
            "callback_url": callback_url,
            "engine": engine,
            "ocr": ocr,
            "ocr_languages": ocr_languages,
            "wait_s": prefer_wait,
        }
        if batch or sources:
            members = batches_cli.batch_files(paths)
            rows, ok = batches_cli.submit_batch(client, members, list(sources or []), options, wait, as_json)
            emit(rows, as_json, batches_cli.MEMBER_COLUMNS)
            if not ok:
                raise typer.Exit(1)
            return
        if not paths or any(path.is_dir() for path in paths):
            raise typer.BadParameter("name files to upload (directories only with --batch)")
        if not wait:
            with ThreadPoolExecutor(max_workers=parallel) as pool:
                rows = list(pool.map(lambda f: _upload_row(client, f, options), paths))
            emit(rows, as_json, ["file", "task_id", "state", "status_url"])
        else:
            rows = _submit_and_follow(client, paths, options, parallel, quiet=as_json)
            emit(rows, as_json, SUMMARY_COLUMNS)
    if any(row["state"] not in ("succeeded", "queued", "running") for row in rows):
        raise typer.Exit(1)


def _upload_row(client: Client, path: Path, options: dict[str, Any]) -> dict[str, Any]:
    try:
        task = client.submit(path, **options)
    except DocqueueError as exc:
        return {"file": path.name, "task_id": "", "state": f"refused: {exc.code}", "status_url": exc.detail}
    accepted = task.accepted
    return {
        "file": path.name,
        "task_id": task.task_id,
        "state": task.finished.state if task.finished else accepted.state,
        "status_url": accepted.status_url,
    }


class _Board:
    """One bar per file and an overall bar; updated from the upload threads."""

    def __init__(self, progress: Progress, files: list[Path]) -> None:
        self.progress = progress
        self.lock = threading.Lock()
        self.percents = [0.0] * len(files)
        self.overall = progress.add_task("[bold]all files", total=100.0 * len(files), state="")
        self.bars = [progress.add_task(path.name, total=100.0, state="waiting") for path in files]

    def show(self, index: int, percent: float, state: str) -> None:
        with self.lock:
            self.percents[index] = percent
            done = sum(1 for p in self.percents if p >= 100)
            self.progress.update(self.bars[index], completed=percent, state=state)
            self.progress.update(
                self.overall, completed=sum(self.percents), state=f"{done}/{len(self.percents)} done"
            )


def _submit_and_follow(
    client: Client, files: list[Path], options: dict[str, Any], parallel: int, quiet: bool
) -> list[dict[str, Any]]:
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
               TextColumn("{task.fields[state]}"), TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console, disable=quiet) as progress:
        board = _Board(progress, files)

        def one(index: int) -> dict[str, Any]:
            return _follow_one(client, files[index], options, lambda p, s: board.show(index, p, s))

        with ThreadPoolExecutor(max_workers=parallel) as pool:
            return list(pool.map(one, range(len(files))))


def _follow_one(
    client: Client, path: Path, options: dict[str, Any], show: Callable[[float, str], None]
) -> dict[str, Any]:
    started = time.monotonic()
    row: dict[str, Any] = {
        "file": path.name, "task_id": "", "pages": "", "chunks": "", "warnings": "", "result": ""
    }  # fmt: skip
    show(0.0, "uploading")
    try:
        task = client.submit(path, **options)
        row["task_id"] = task.task_id
        final = task.wait(on_progress=lambda s: show(s.percent, _state_text(s)))
        row.update(state=_state_text(final), pages=final.pages_total, warnings=",".join(final.warnings))
        if final.succeeded:
            row["chunks"] = len(task.result()["chunks"])
            row["result"] = final.result_url
        show(100.0 if final.succeeded else final.percent, row["state"])
    except DocqueueError as exc:
        row["state"] = f"refused: {exc.code}" if not row["task_id"] else f"error: {exc.code}"
        show(0.0, row["state"])
    row["seconds"] = round(time.monotonic() - started, 1)
    return row


def _state_text(task: TaskStatus) -> str:
    if task.state == "running":
        parts = f" (parts {task.parts_done}/{task.parts_total})" if task.parts_total else ""
        return f"{task.stage} {task.pages_done}/{task.pages_total}{parts}"
    if task.error and task.state != "succeeded":
        return f"{task.state}: {task.error.get('code')}"
    return task.state


@app.command()
def watch(
    task_id: str,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Follow a task live (Server-Sent Events) until it ends; --json prints one line per change.
    Exits 1 unless it succeeded."""
    with _client(url, api_key) as client:
        if as_json:
            final = client.wait(task_id, on_progress=lambda s: print(json.dumps(s.raw), flush=True))
        else:
            columns = (TextColumn(task_id[:12]), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
                       TextColumn("{task.fields[state]}"), TimeElapsedColumn())  # fmt: skip
            with Progress(*columns, console=console) as progress:
                bar = progress.add_task("", total=100.0, state="connecting")
                final = client.wait(
                    task_id,
                    on_progress=lambda s: progress.update(bar, completed=s.percent, state=_state_text(s)),
                )
            print(f"{final.task_id}  {_state_text(final)}  {final.percent:.1f}%")
            if final.warnings:
                print(f"warnings: {', '.join(final.warnings)}")
            if final.error and not final.succeeded:
                print(f"error: {final.error.get('message')}")
    if not final.succeeded:
        raise typer.Exit(1)


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
    as_json: JsonOpt = False,
) -> None:
    """Fetch a succeeded task's result (pages and chunks) as JSON (--json: compact, one line)."""
    with _client(url, api_key) as client:
        body = client.result(task_id)
    text = json.dumps(body, ensure_ascii=False) if as_json else json.dumps(body, indent=2, ensure_ascii=False)
    if output is None:
        print(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        console.print(f"wrote {output} ({len(body['pages'])} pages, {len(body['chunks'])} chunks)")


@app.command()
def cancel(task_id: str, url: UrlOpt = None, api_key: KeyOpt = None, as_json: JsonOpt = False) -> None:
    """Cancel a queued or running task."""
    with _client(url, api_key) as client:
        task = client.cancel(task_id)
    print(json.dumps(task.raw, indent=2) if as_json else f"{task.task_id}  {task.state}")


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
    emit(rows, as_json, ["task_id", "file", "state", "percent"])


def main() -> None:
    try:
        app()
    except DocqueueError as exc:
        console.print(f"[red]error[/red] {exc.status} {exc.code}: {exc.detail}")
        sys.exit(2)
