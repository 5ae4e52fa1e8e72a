"""The OpenAPI document's compatibility check: openapi-python-client (in an environment of its own,
pins-sdkgen.txt) generates a Python SDK from it without a warning, and that SDK uploads a real PDF
to the running API, follows it and reads its pages, through the generated operations by their ids."""

import os
import subprocess
import sys
from pathlib import Path

from docqueue_devstack.openapi import document
from tests.conftest import KeyMaker
from tests.support.documents import make_pdf

REPO = Path(__file__).resolve().parents[2]
SDKGEN = REPO / ".run/sdkgen-venv/bin"
CONFIG = "package_name_override: docqueue_sdk\nproject_name_override: docqueue-sdk\n"
# Run in a process of its own, with only the generated package added to the path.
USE_IT = """
import sys, time
from docqueue_sdk import AuthenticatedClient
from docqueue_sdk.api.documents import documents_upload
from docqueue_sdk.api.tasks import tasks_get, tasks_result
from docqueue_sdk.models import DocumentsUploadBody
from docqueue_sdk.types import File

url, key, path = sys.argv[1:4]
with AuthenticatedClient(base_url=url, token=key) as client:
    with open(path, "rb") as pdf:
        upload = File(payload=pdf, file_name="generated.pdf", mime_type="application/pdf")
        body = DocumentsUploadBody(file=upload)
        accepted = documents_upload.sync(client=client, body=body)
    deadline = time.monotonic() + 60
    task = tasks_get.sync(accepted.task_id, client=client)
    while task.state.value not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, task
        task = tasks_get.sync(accepted.task_id, client=client)
        time.sleep(0.1)
    result = tasks_result.sync_detailed(accepted.task_id, client=client)
    pages = result.parsed.pages
    print(task.state.value, len(pages), pages[0].text.split(".")[0])
"""


def test_a_python_sdk_generated_from_the_document_works_against_the_api(
    api_url: str, make_key: KeyMaker, tmp_path: Path
) -> None:
    assert (SDKGEN / "openapi-python-client").exists(), "run `make sdkgen` (make test does)"
    (tmp_path / "openapi.json").write_text(document())
    (tmp_path / "config.yaml").write_text(CONFIG)
    env = {**os.environ, "PATH": f"{SDKGEN}:{os.environ['PATH']}"}
    argv = [
        str(SDKGEN / "openapi-python-client"), "generate", "--path", "openapi.json",
        "--config", "config.yaml", "--output-path", "docqueue_sdk", "--meta", "none",
    ]  # fmt: skip
    generated = subprocess.run(
        argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output
    assert "warning" not in output.lower(), output
    modules = (tmp_path / "docqueue_sdk/api").glob("*/*.py")
    operations = {path.stem for path in modules if path.stem != "__init__"}
    expected = {"documents_upload", "tasks_get", "tasks_result", "tasks_events", "dead_letters_replay"}
    assert expected <= operations
    document_path = tmp_path / "three.pdf"
    document_path.write_bytes(make_pdf(3))
    used = subprocess.run(
        [sys.executable, "-c", USE_IT, api_url, make_key(), str(document_path)],
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert used.returncode == 0, used.stdout + used.stderr
    assert used.stdout.split() == ["succeeded", "3", "Page", "1", "begins"]
