"""No API key and no document text in any log line; no task id, tenant or key in metric labels."""

import re
import uuid

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.hostile import pdfs
from tests.hostile.conftest import HOSTILE_WORKER, HostileStack
from tests.support.documents import make_pdf
from tests.support.http import wait_terminal

HEX_ID = re.compile(r"^[0-9a-f]{32}$")


def test_logs_never_hold_a_key_or_document_text(hostile: HostileStack) -> None:
    marker = f"SECRET-TEXT-{uuid.uuid4().hex}"
    env = {"DOCQUEUE_LOG_LEVEL": "DEBUG"}
    url = hostile.start_api(env)
    worker = hostile.stack.start_worker(name="debug-worker", concurrency=1, env=env)
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    key = hostile.key(tenant)
    documents = {
        "ok.pdf": make_pdf(2, lambda n: f"{marker} page {n}"),
        "ok.txt": f"{marker}\nplain text".encode(),
        "truncated.pdf": pdfs.truncated(marker),
        "garbage.pdf": b"%PDF-1.7\n" + marker.encode() * 50 + b"\x00\xff" * 100,
        "bad-utf8.txt": marker.encode() + b" \xff\xfe",
    }
    try:
        with hostile.client(key, url) as client:
            ids = []
            for name, data in documents.items():
                response = client.post("/v1/documents", files={"file": (name, data)})
                assert response.status_code == 202, response.text
                ids.append(response.json()["task_id"])
            states = {wait_terminal(client, task_id)["state"] for task_id in ids}
            assert states == {"succeeded", "failed"}
            client.get(f"/v1/tasks/{ids[0]}/result")
        wrong = f"dq_{uuid.uuid4().hex}"
        assert httpx.get(f"{url}/v1/tasks", headers={"Authorization": f"Bearer {wrong}"}).status_code == 401
    finally:
        worker.stop()
    logs = {
        path.name: path.read_text(errors="replace") for path in (hostile.stack.run_dir / "logs").glob("*.log")
    }
    assert "debug-worker.log" in logs
    assert any("DEBUG" in text for text in logs.values()), "the run did not log at DEBUG"
    for name, text in logs.items():
        assert key not in text, name
        assert wrong not in text, name
        assert marker not in text, name


def test_metric_labels_hold_no_task_id_tenant_or_key(hostile: HostileStack) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    key = hostile.key(tenant)
    with hostile.client(key) as client:
        task_id = client.post("/v1/documents", files={"file": ("a.txt", b"metrics")}).json()["task_id"]
        wait_terminal(client, task_id)
        client.get(f"/v1/tasks/{task_id}")
        client.get(f"/v1/tasks/{uuid.uuid4().hex}")
    # The API and the worker that ran the job (its prefork pool's samples merged).
    endpoints = [f"{hostile.api_url}/metrics", hostile.stack.worker_metrics[HOSTILE_WORKER]]
    values = []
    for endpoint in endpoints:
        scraped = httpx.get(endpoint)
        assert scraped.status_code == 200, endpoint
        values += [
            value
            for family in text_string_to_metric_families(scraped.text)
            for sample in family.samples
            for value in sample.labels.values()
        ]
    assert any(value == "succeeded" for value in values), "no job outcome among the labels"
    for value in values:
        assert not HEX_ID.match(value), value
        assert task_id not in value
        assert tenant not in value
        assert key not in value
