"""`docqueue submit --wait` against the running stack."""

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import KeyMaker
from tests.support.documents import corrupt_pdf, make_pdf


def run_cli(api_url: str, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DOCQUEUE_URL=api_url, DOCQUEUE_API_KEY=key)
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
