"""The TypeScript client (packages/client-ts) against a live stack of its own: an API with a small
upload limit and callbacks on, a documents worker and a callbacks worker, on a Redis database of
their own. Its tests run with node's test runner; this test fails unless every one of them passed."""

import json
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from docqueue.auth import Scope
from tests.conftest import TEST_ENV
from tests.support.documents import make_pdf
from tests.support.keys import tenant_key
from tests.support.stacks import database_stack

CLIENT_TS = Path(__file__).resolve().parents[2] / "packages/client-ts"
SECRET = secrets.token_urlsafe(32)
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
# Its own database: the suite's shared worker (no callback secret) never takes its messages.
DB = 6
ENV = {
    **TEST_ENV,
    "DOCQUEUE_WEBHOOK_SECRET": SECRET,
    # The test's receiver listens on loopback over plain http: allowed here, refused by default.
    "DOCQUEUE_WEBHOOK_ALLOW_PRIVATE": "true",
    "DOCQUEUE_WEBHOOK_ALLOW_HTTP": "true",
    "DOCQUEUE_MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
}


@pytest.fixture(scope="module")
def live(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    with database_stack(redis_url, DB, tmp_path_factory.mktemp("client-ts"), ENV) as stack:
        yield stack.api_url, stack.redis_url


def npm_command() -> str:
    """npm and the package's dependencies, which `make deps` (run by `make test`) installs."""
    npm = shutil.which("npm")
    assert npm is not None, "npm is missing: run `make deps` (make test does)"
    assert (CLIENT_TS / "node_modules/.installed").exists(), "run `make client-ts-deps` (make test does)"
    return npm


@pytest.mark.timeout(600)
def test_the_typescript_clients_tests_pass_against_a_live_stack(
    live: tuple[str, str], tmp_path: Path
) -> None:
    npm = npm_command()
    url, db_url = live
    key = tenant_key(redis.Redis.from_url(db_url), None, {Scope.SUBMIT, Scope.READ})
    document = tmp_path / "three-pages.pdf"
    document.write_bytes(make_pdf(3, title="From TypeScript"))
    env = {
        **os.environ,
        "DOCQUEUE_URL": url,
        "DOCQUEUE_API_KEY": key,
        "DOCQUEUE_WEBHOOK_SECRET": SECRET,
        "DOCQUEUE_MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
        "DOCQUEUE_TEST_PDF": str(document),
    }
    run = subprocess.run(
        [npm, "test", "--silent"],
        cwd=CLIENT_TS,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-6000:]
    counts = {
        name: int(value) for name, value in re.findall(r"ℹ (tests|pass|fail|skipped|todo) (\d+)", report)
    }
    assert counts.get("tests", 0) == counts.get("pass") == 12, report[-3000:]
    assert counts.get("fail") == counts.get("skipped") == counts.get("todo") == 0, report[-3000:]


def test_the_npm_package_ships_esm_with_its_types_and_nothing_else(live: tuple[str, str]) -> None:
    """What `npm publish` would upload (after the test above built dist/): the ESM module, its
    declarations, the OpenAPI document and the README; no tests."""
    npm = npm_command()
    packed = subprocess.run(
        [npm, "pack", "--dry-run", "--json"],
        cwd=CLIENT_TS,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    files = {entry["path"] for entry in json.loads(packed.stdout)[0]["files"]}
    assert {"dist/src/index.js", "dist/src/index.d.ts", "openapi.json", "README.md", "package.json"} <= files
    assert not [path for path in files if path.startswith(("dist/test", "src/"))]
    manifest = json.loads((CLIENT_TS / "package.json").read_text())
    assert manifest["type"] == "module"
    assert manifest["exports"]["."] == {"types": "./dist/src/index.d.ts", "import": "./dist/src/index.js"}
    exported = subprocess.run(
        ["node", "--input-type=module", "-e",
         "const m = await import('./dist/src/index.js'); console.log(Object.keys(m).sort().join(' '))"],
        cwd=CLIENT_TS, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert {"DocqueueClient", "ProblemError", "verifyWebhook", "isFinished"} <= set(exported.stdout.split())
