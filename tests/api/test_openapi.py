"""The OpenAPI document is one a generator makes a good SDK from: readable operation ids, one tag
per domain, an example for every parameter, body and success answer, the SSE event and the
webhook described, and every webhook body docqueue sends valid against the schema it documents."""

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.utils import generate_unique_id

from docqueue.errors import ErrorCode
from docqueue.jobs.model import TERMINAL_STATES, Job, JobOptions, JobState
from docqueue.webhooks import SIGNATURE_HEADER, build_event, encode_event
from docqueue_api.app import create_app
from docqueue_api.settings import ApiSettings
from docqueue_api.webhooks import WebhookEvent

METHODS = {"get", "post", "put", "delete", "patch"}
# Domain, then verb: documents_upload, tasks_get, dead_letters_replay.
OPERATION_ID = re.compile(r"^(documents|tasks|batches|dead_letters|health|webhooks)_[a-z]+(_[a-z]+)*$")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return create_app(ApiSettings()).openapi()


def operations(schema: dict[str, Any], section: str = "paths") -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in schema[section].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_operation_ids_are_domain_and_verb_never_fastapis_default(schema: dict[str, Any]) -> None:
    app = create_app(ApiSettings())
    defaults = {generate_unique_id(route) for route in app.routes if isinstance(route, APIRoute)}
    ids = [
        operation["operationId"] for _, _, operation in operations(schema) + operations(schema, "webhooks")
    ]
    assert len(ids) == len(set(ids)), "operation ids must be unique"
    for operation_id in ids:
        assert OPERATION_ID.match(operation_id), operation_id
        assert operation_id not in defaults, operation_id
        # FastAPI's default names the path and the method: upload_document_v1_documents_post.
        assert not re.search(r"_v1_|task_id|_(post|put|patch)$", operation_id), operation_id
    assert {"documents_upload", "tasks_get", "tasks_result", "tasks_events", "dead_letters_replay"} <= set(
        ids
    )


def test_each_operation_has_one_tag_its_id_starts_with(schema: dict[str, Any]) -> None:
    for method, path, operation in operations(schema) + operations(schema, "webhooks"):
        assert len(operation["tags"]) == 1, (method, path)
        assert operation["operationId"].startswith(operation["tags"][0].replace(" ", "_") + "_"), (
            method,
            path,
        )


def test_every_parameter_body_and_success_answer_has_an_example(schema: dict[str, Any]) -> None:
    for method, path, operation in operations(schema) + operations(schema, "webhooks"):
        where = (method, path, operation["operationId"])
        for parameter in operation.get("parameters", []):
            assert "example" in parameter or "examples" in parameter, (*where, parameter["name"])
        for media in operation.get("requestBody", {}).get("content", {}).values():
            assert "example" in media or "examples" in media, where
        successes = {status: answer for status, answer in operation["responses"].items() if status < "300"}
        assert successes, where
        for status, answer in successes.items():
            for media_type, media in answer.get("content", {}).items():
                assert "example" in media or "examples" in media, (*where, status, media_type)
    assert schema["components"]["schemas"]["Problem"]["examples"]


def test_the_event_stream_describes_its_events(schema: dict[str, Any]) -> None:
    stream = schema["paths"]["/v1/tasks/{task_id}/events"]["get"]["responses"]["200"]["content"]
    item = stream["text/event-stream"]["itemSchema"]
    assert item["properties"]["event"]["enum"] == ["task"]
    assert item["properties"]["data"]["contentSchema"] == {"$ref": "#/components/schemas/TaskView"}


def test_the_webhook_is_described_with_its_signature(schema: dict[str, Any]) -> None:
    webhook = schema["webhooks"]["task-finished"]["post"]
    headers = {parameter["name"]: parameter for parameter in webhook["parameters"]}
    assert headers[SIGNATURE_HEADER]["required"] is True
    assert "HMAC-SHA256" in headers[SIGNATURE_HEADER]["description"]
    body = webhook["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/WebhookEvent"}
    WebhookEvent.model_validate(body["example"])


@pytest.mark.parametrize("state", sorted(TERMINAL_STATES))
def test_every_webhook_body_docqueue_sends_matches_the_documented_schema(state: JobState) -> None:
    failed = state != JobState.SUCCEEDED
    job = Job(
        task_id="a" * 32, tenant="t", filename="r.pdf", media_type="application/pdf", size_bytes=10,
        sha256="0" * 64, options=JobOptions(), blob_key="b", created_at=1.0, updated_at=5.0,
        started_at=2.0, finished_at=5.0, state=state,
        error_code=ErrorCode.CORRUPT_DOCUMENT if failed else None,
        error_message="bad xref" if failed else None,
        callback_url="https://hooks.example.com/x",
    )  # fmt: skip
    event = WebhookEvent.model_validate_json(encode_event(build_event(job, "https://dq.example.com")))
    assert event.type == f"task.{state}"
    assert (event.task.error is not None) == failed
