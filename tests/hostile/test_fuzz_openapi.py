"""schemathesis against the live API's own OpenAPI document: loopback only, bounded, authenticated."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile.conftest import HostileStack

# Bounded by examples per operation, not by time (a time budget is spent whole by design).
MAX_EXAMPLES = int(os.environ.get("DOCQUEUE_FUZZ_EXAMPLES", "12"))
MAX_TIME_S = 300
CONFIG = Path(__file__).with_name("schemathesis.toml")
# Every check schemathesis has; the stateful phase needs links the schema does not declare.
PHASES = "examples,coverage,fuzzing"


@pytest.mark.timeout(MAX_TIME_S + 60)
def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    hostile: HostileStack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # A fuzzing API of its own: no rate limit (429s would only hide coverage).
    url = hostile.start_api({"DOCQUEUE_RATE_LIMIT_PER_S": "0"})
    assert url.startswith("http://127.0.0.1:")
    key = hostile.key()
    reports = tmp_path_factory.mktemp("schemathesis")
    argv = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run", f"{url}/openapi.json",
        "--header", f"Authorization: Bearer {key}",
        "--checks", "all",
        "--phases", PHASES,
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", "20261123",
        "--workers", "2",
        "--generation-database", "none",
        "--request-timeout", "30",
        "--report", "junit", "--report-dir", str(reports),
        "--no-color",
    ]  # fmt: skip
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=MAX_TIME_S, cwd=reports, env=dict(os.environ)
    )
    assert done.returncode == 0, done.stdout[-15000:] + done.stderr[-3000:]
