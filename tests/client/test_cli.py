"""`docqueue submit --wait` against the running stack."""

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import KeyMaker
from tests.support.documents import corrupt_pdf, make_pdf
from tests.support.held_jobs import hold_job


def run_cli(api_url: str, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DOCQUEUE_URL=api_url, DOCQUEUE_API_KEY=key, COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "docqueue_client", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_submit_wait_then_status_and_result(
    api_url: str, make_key: KeyMaker, tmp_file: Callable[[str, bytes], Path], tmp_path: Path
) -> None:
    key = make_key()
    good = tmp_file("good.pdf", make_pdf(30))
    notes = tmp_file("notes.md", b"# Notes\n\nhello\n")
    done = run_cli(api_url, key, "submit", str(good), str(notes), "--wait", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [row["state"] for row in rows] == ["succeeded", "succeeded"]
    assert rows[0]["pages"] == 30
    assert rows[0]["chunks"] > 0

    status = run_cli(api_url, key, "status", rows[0]["task_id"])
    assert "succeeded" in status.stdout
    assert "100.0%" in status.stdout
    out = tmp_path / "result.json"
    fetched = run_cli(api_url, key, "result", rows[0]["task_id"], "-o", str(out))
    assert fetched.returncode == 0, fetched.stderr
    assert len(json.loads(out.read_text())["pages"]) == 30


def test_submit_wait_exits_non_zero_when_a_document_fails(
    api_url: str, make_key: KeyMaker, tmp_file: Callable[[str, bytes], Path]
) -> None:
    bad = tmp_file("bad.pdf", corrupt_pdf())
    done = run_cli(api_url, make_key(), "submit", str(bad), "--wait", "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout)[0]["state"] == "failed: corrupt_document"


def test_errors_are_reported_with_their_code(api_url: str) -> None:
    done = run_cli(api_url, "dq_wrong", "status", "0" * 32)
    assert done.returncode == 2
    assert "401 unauthorized" in done.stderr


def test_watch_prints_each_change_and_exits_with_the_outcome(
    api_url: str, make_key: KeyMaker, tmp_file: Callable[[str, bytes], Path]
) -> None:
    key = make_key()
    submitted = run_cli(api_url, key, "submit", str(tmp_file("w.pdf", make_pdf(25))), "--json")
    task_id = json.loads(submitted.stdout)[0]["task_id"]
    watched = run_cli(api_url, key, "watch", task_id, "--json")
    assert watched.returncode == 0, watched.stderr
    lines = [json.loads(line) for line in watched.stdout.splitlines()]
    assert lines[-1]["state"] == "succeeded"
    assert lines[-1]["progress"]["percent"] == 100.0
    assert all(line["task_id"] == task_id for line in lines)

    human = run_cli(api_url, key, "watch", task_id)
    assert human.returncode == 0
    assert f"{task_id}  succeeded  100.0%" in human.stdout

    bad = run_cli(api_url, key, "submit", str(tmp_file("bad.pdf", corrupt_pdf())), "--json")
    failed = run_cli(api_url, key, "watch", json.loads(bad.stdout)[0]["task_id"])
    assert failed.returncode == 1
    assert "failed: corrupt_document" in failed.stdout


def test_submit_wait_summary_table_and_a_refused_file(
    api_url: str, make_key: KeyMaker, tmp_file: Callable[[str, bytes], Path]
) -> None:
    good = tmp_file("good.pdf", make_pdf(12))
    other = tmp_file("other.md", b"# Other\n\ntext\n")
    junk = tmp_file("junk.pdf", bytes(range(256)) * 8)
    done = run_cli(api_url, make_key(), "submit", str(good), str(other), str(junk), "--wait")
    assert done.returncode == 1  # one file was refused
    header = done.stdout.splitlines()[1]
    for column in ("file", "state", "pages", "chunks", "seconds"):
        assert column in header
    assert done.stdout.count("succeeded") == 2
    assert "refused: unsupported_media_type" in done.stdout
    assert "all files" in done.stderr  # the overall bar
    # The file column names each file, not the directory they share.
    for path in (good, other, junk):
        assert path.name in done.stdout


def test_submit_prefer_wait_reports_the_finished_state(
    api_url: str, make_key: KeyMaker, tmp_file: Callable[[str, bytes], Path]
) -> None:
    quick = tmp_file("quick-cli.pdf", make_pdf(1, title="cli prefer"))
    done = run_cli(api_url, make_key(), "submit", str(quick), "--prefer-wait", "30", "--json")
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)
    assert (row["file"], row["state"]) == ("quick-cli.pdf", "succeeded")


def test_cancel_and_list_speak_json(api_url: str, make_key: KeyMaker, redis_url: str) -> None:
    key = make_key("t-cli-json")
    held = hold_job(redis_url, "t-cli-json")
    cancelled = run_cli(api_url, key, "cancel", held.task_id, "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    assert json.loads(cancelled.stdout)["state"] == "cancelled"
    listed = run_cli(api_url, key, "list", "--json")
    assert [(row["task_id"], row["state"]) for row in json.loads(listed.stdout)] == [
        (held.task_id, "cancelled: cancelled")
    ]


def test_shell_completion_is_offered() -> None:
    script = Path(sys.executable).parent / "docqueue"
    # The shell is named, not detected: detection reads the process's ancestors, which hold no
    # shell when the suite runs detached (a CI runner may start it so).
    env = dict(os.environ, _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1")
    shown = subprocess.run(
        [str(script), "--show-completion", "bash"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert shown.returncode == 0
    assert "_DOCQUEUE_COMPLETE" in shown.stdout
