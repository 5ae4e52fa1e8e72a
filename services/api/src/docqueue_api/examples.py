"""Examples for every operation of the OpenAPI document: each parameter, request body and success
answer gets one (what generated SDKs and the docs show), keyed by operation id. complete_openapi
adds them; tests/api/test_openapi.py fails on an operation without one."""

from typing import Any

TASK_ID = "3f0c9a4d5b6e4f8091a2b3c4d5e6f708"
BASE = "https://docqueue.example.com/v1/tasks/" + TASK_ID

BATCH_ID = "b7e21f4c0a9d4e3b8c6f5a1d2e0c9b84"
BATCH_BASE = "https://docqueue.example.com/v1/batches/" + BATCH_ID

PARAMETERS: dict[str, Any] = {
    "task_id": TASK_ID,
    "batch_id": BATCH_ID,
    "Idempotency-Key": "upload-report-2026-12-01",
    "Prefer": "wait=10",
    "Last-Event-ID": "1764590112402-0",
    "state": "failed",
    "limit": 50,
    "cursor": "eyJiZWZvcmUiOjE3NjQ1OTAxMTIuNH0",
}

UPLOAD = {
    "file": "(the document's bytes)",
    "chunk_by": "tokens",
    "chunk_size": 512,
    "chunk_overlap": 64,
    "ocr": "auto",
    "ocr_languages": "eng+deu",
    "callback_url": "https://hooks.example.com/docqueue",
    "ttl_s": 86400,
}

ACCEPTED = {
    "task_id": TASK_ID,
    "state": "queued",
    "status_url": BASE,
    "result_url": BASE + "/result",
    "events_url": BASE + "/events",
    "deduplicated": False,
}

TASK = {
    "task_id": TASK_ID,
    "state": "running",
    "stage": "extracting",
    "progress": {"pages_done": 41, "pages_total": 120, "percent": 34.2},
    "attempts": 1,
    "error": None,
    "filename": "report.pdf",
    "media_type": "application/pdf",
    "size_bytes": 482113,
    "created_at": "2026-12-01T12:55:10.114Z",
    "started_at": "2026-12-01T12:55:10.402Z",
    "finished_at": None,
    "status_url": BASE,
    "result_url": BASE + "/result",
    "events_url": BASE + "/events",
    "callback_url": None,
    "warnings": [],
    "expires_at": "2026-12-08T12:55:31.877Z",
    "result_deleted_at": None,
    "callback_deliveries": None,
}

BATCH_UPLOAD = {
    "files": ["(the first document's bytes)", "(the second document's bytes)"],
    "urls": '["https://docs.example.com/handbook.pdf"]',
    "chunk_size": 800,
    "callback_url": "https://hooks.example.com/docqueue-batches",
}
BATCH_URLS = {"urls": ["https://docs.example.com/handbook.pdf", "s3://inbox/contracts/2026-11.pdf"]}

COUNTS = {
    "queued": 1, "running": 1, "retrying": 0, "succeeded": 1, "failed": 0, "cancelled": 0, "dead_lettered": 0,
}  # fmt: skip

BATCH = {
    "batch_id": BATCH_ID,
    "state": "running",
    "total": 3,
    "counts": COUNTS,
    "progress": {"pages_done": 47, "pages_total": 131, "percent": 35.5},
    "created_at": "2026-12-01T12:55:10.114Z",
    "ended_at": None,
    "expires_at": "2026-12-08T12:55:10.114Z",
    "callback_url": "https://hooks.example.com/docqueue-batches",
    "status_url": BATCH_BASE,
    "events_url": BATCH_BASE + "/events",
    "members": {
        "items": [
            {
                "index": 0,
                "task_id": TASK_ID,
                "state": "running",
                "stage": "extracting",
                "progress": {"pages_done": 41, "pages_total": 120, "percent": 33.8},
                "filename": "report.pdf",
                "source_url": None,
                "error": None,
                "status_url": BASE,
            }
        ],
        "next_cursor": "bTox",
    },
    "callback_deliveries": [],
}

BATCH_ACCEPTED = {
    "batch_id": BATCH_ID,
    "state": "running",
    "total": 3,
    "status_url": BATCH_BASE,
    "events_url": BATCH_BASE + "/events",
    "members": [
        {
            "index": 0,
            "task_id": TASK_ID,
            "filename": "report.pdf",
            "source_url": None,
            "state": "queued",
            "deduplicated": False,
            "error": None,
            "status_url": BASE,
        }
    ],
}

BATCH_EVENT = "event: batch\nid: 1764590112402-0\ndata: " + (
    '{"batch_id":"' + BATCH_ID + '","state":"running","total":3,"counts":{...},'
    '"progress":{"pages_done":47,"pages_total":131,"percent":35.5},...,'
    '"member":{"task_id":"' + TASK_ID + '","state":"running","pages_done":41,"pages_total":120}}\n\n'
)

CANCELLED = {**TASK, "state": "cancelled", "stage": "done", "finished_at": "2026-12-01T12:55:12.020Z"}

RESULT = {
    "task_id": TASK_ID,
    "document": {
        "filename": "report.pdf",
        "media_type": "application/pdf",
        "format": "pdf",
        "sha256": "9b1c4f0e6d2a7c3b8e5f1a0d4c7b2e9f6a3d8c1b5e0f7a2d9c4b6e1f8a3d5c7b",
        "page_count": 120,
        "title": "Annual report",
        "author": "Finance",
        "ocr_pages": 0,
    },
    "pages": [
        {
            "number": 1,
            "text": "Annual report\nRevenue grew by 12 %.",
            "markdown": "# Annual report\n\nRevenue grew by 12 %.",
            "method": "text",
            "ocr_confidence": None,
        }
    ],
    "chunks": [
        {
            "index": 0,
            "text": "Annual report\nRevenue grew by 12 %.",
            "page_start": 1,
            "page_end": 1,
            "char_start": 0,
            "char_end": 35,
            "token_count": 10,
            "headings": ["Annual report"],
            "table_header": None,
        }
    ],
    "warnings": [],
}

DEAD_LETTER = {
    "task_id": TASK_ID,
    "task_name": "documents.process",
    "error_code": "worker_lost",
    "error_message": "the worker died 3 times while processing this document",
    "traceback": "",
    "attempts": 3,
    "history": [{"attempt": 1, "error_code": "worker_lost", "at": 1764590112.4}],
    "dead_lettered_at": "2026-12-01T13:02:41.500Z",
}

EVENT = "event: task\nid: 1764590112402-0\ndata: " + (
    '{"task_id":"' + TASK_ID + '","state":"running","stage":"extracting",'
    '"progress":{"pages_done":41,"pages_total":120,"percent":34.2},...}\n\n'
)

PROBLEM = {
    "type": "urn:docqueue:problem:task_not_found",
    "title": "Not Found",
    "status": 404,
    "detail": "no task " + TASK_ID,
    "code": "task_not_found",
    "instance": "/v1/tasks/" + TASK_ID,
    "request_id": "7d1e5c0b9a8f4e3d",
}

# Operation id -> {status: example of the success answer}.
RESPONSES: dict[str, dict[str, Any]] = {
    "documents_upload": {"202": ACCEPTED, "200": {**ACCEPTED, "state": "succeeded", "deduplicated": True}},
    "tasks_list": {"200": {"items": [TASK], "next_cursor": PARAMETERS["cursor"]}},
    "tasks_get": {"200": TASK},
    "tasks_cancel": {"202": CANCELLED},
    "tasks_result_delete": {
        "200": {
            **TASK,
            "state": "succeeded",
            "stage": "done",
            "result_deleted_at": "2026-12-01T13:20:00.000Z",
        }
    },
    "tasks_result": {"200": RESULT},
    "tasks_events": {"200": EVENT},
    "dead_letters_list": {"200": {"items": [DEAD_LETTER], "next_cursor": None}},
    "dead_letters_get": {"200": DEAD_LETTER},
    "dead_letters_replay": {"202": {**TASK, "state": "queued", "stage": "queued", "attempts": 3}},
    "dead_letters_delete": {"200": {"purged": 1}},
    "dead_letters_purge": {"200": {"purged": 12}},
    "batches_create": {"202": BATCH_ACCEPTED},
    "batches_list": {
        "200": {"items": [{**BATCH, "members": None, "callback_deliveries": None}], "next_cursor": None}
    },
    "batches_get": {"200": BATCH},
    "batches_cancel": {
        "200": {
            **BATCH,
            "state": "completed_with_errors",
            "counts": {**COUNTS, "queued": 0, "running": 0, "cancelled": 2},
            "ended_at": "2026-12-01T12:56:02.500Z",
            "members": None,
        }
    },
    "batches_events": {"200": BATCH_EVENT},
    "health_live": {"200": {"status": "ok"}},
    "health_ready": {"200": {"status": "ok"}},
}

WEBHOOK = {
    "id": "evt_9a4d0c1e2b3f4a5d6e7f8091a2b3c4d5",
    "type": "task.succeeded",
    "created_at": "2026-12-01T12:55:31.877Z",
    "task": {
        key: value
        for key, value in {
            **TASK,
            "state": "succeeded",
            "stage": "done",
            "progress": {"pages_done": 120, "pages_total": 120, "percent": 100.0},
            "finished_at": "2026-12-01T12:55:31.877Z",
        }.items()
        if key
        not in (
            "events_url",
            "callback_url",
            "warnings",
            "callback_deliveries",
            "expires_at",
            "result_deleted_at",
        )
    },
}
WEBHOOK_HEADERS = {
    "Docqueue-Signature": "t=1764593731,v1=5f1c0e7a9b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e",
    "Docqueue-Event-Id": WEBHOOK["id"],
    "Docqueue-Event-Type": "task.succeeded",
}


BATCH_WEBHOOK = {
    "id": "evt_1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f",
    "type": "batch.completed_with_errors",
    "created_at": "2026-12-01T13:10:00.000Z",
    "batch": {
        "batch_id": BATCH_ID,
        "state": "completed_with_errors",
        "total": 3,
        "counts": {**COUNTS, "queued": 0, "running": 0, "succeeded": 2, "failed": 1},
        "progress": {"pages_done": 131, "pages_total": 131, "percent": 99.0},
        "created_at": "2026-12-01T12:55:10.114Z",
        "ended_at": "2026-12-01T13:10:00.000Z",
        "status_url": BATCH_BASE,
    },
}

# Operation id -> an example of its request body.
BODIES: dict[str, Any] = {
    "documents_upload": UPLOAD,
    "batches_create": BATCH_UPLOAD,
    "webhooks_task_finished": WEBHOOK,
    "webhooks_batch_finished": BATCH_WEBHOOK,
}
# Operation id -> media type -> an example of its request body in that media type.
BODIES_BY_TYPE: dict[str, dict[str, Any]] = {"batches_create": {"application/json": BATCH_URLS}}


def add_examples(operation: dict[str, Any]) -> None:
    """The examples of one operation, where it has none of its own."""
    operation_id = operation.get("operationId", "")
    known = {**PARAMETERS, **WEBHOOK_HEADERS}
    for parameter in operation.get("parameters", []):
        if parameter["name"] in known:
            parameter.setdefault("example", known[parameter["name"]])
    if operation_id in BODIES:
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
            example = BODIES_BY_TYPE.get(operation_id, {}).get(media_type, BODIES[operation_id])
            media.setdefault("example", example)
    for status, example in RESPONSES.get(operation_id, {}).items():
        content = operation["responses"].get(status, {}).get("content", {})
        for media in content.values():
            media.setdefault("example", example)
