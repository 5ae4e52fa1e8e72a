"""A batch's body: multipart `files` parts (streamed into the blob store like an upload's file,
each into the blob of its own member task) and a `urls` field, or a JSON body of URLs; every limit
checked while the body streams."""

import json
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import ValidationError
from starlette.requests import ClientDisconnect, Request

from docqueue.egress import MAX_URL_CHARS
from docqueue.errors import ProblemCode
from docqueue.storage import BlobWriter
from docqueue_api.batches.schemas import BatchUrls
from docqueue_api.documents.form import FormLimits, ReceivedFile, receive_form
from docqueue_api.problems import ProblemError
from docqueue_api.settings import ApiSettings

FILES_FIELD = "files"
URLS_FIELD = "urls"
# Bytes of a JSON body besides its URLs (the options).
JSON_OPTIONS_BYTES = 64 * 1024


@dataclass
class Received:
    files: list[ReceivedFile]
    urls: list[str]
    fields: dict[str, str]


def too_many_members(most: int) -> ProblemError:
    return ProblemError(
        422,
        ProblemCode.TOO_MANY_MEMBERS,
        f"a batch has at most {most} members (files and URLs together)",
        errors=[{"loc": ["body"], "msg": f"at most {most} members", "type": "too_long"}],
    )


def batch_form_limits(settings: ApiSettings) -> FormLimits:
    most = settings.max_batch_members
    return FormLimits(
        FILES_FIELD,
        settings.max_upload_bytes,
        max_parts=most + 16,
        # The `urls` field holds a JSON list of up to every member's URL.
        max_field_bytes=max(settings.max_field_bytes, most * (MAX_URL_CHARS + 8)),
        max_files=most,
        max_total_bytes=settings.max_batch_bytes,
        too_many_files=too_many_members,
    )


async def receive_batch(
    request: Request, settings: ApiSettings, open_writer: Callable[[int], BlobWriter]
) -> Received:
    """The files (each into `open_writer(index)`), the URLs and the option fields."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json":
        cap = settings.max_batch_members * (MAX_URL_CHARS + 8) + JSON_OPTIONS_BYTES
        body = await _json_body(request, cap)
        return Received([], body.urls, body.fields())
    form = await receive_form(request, batch_form_limits(settings), open_writer)
    fields = dict(form.fields)
    raw = fields.pop(URLS_FIELD, None)
    return Received(form.files, _url_list(raw) if raw is not None else [], fields)


async def _json_body(request: Request, cap: int) -> BatchUrls:
    data = bytearray()
    try:
        async for chunk in request.stream():
            data.extend(chunk)
            if len(data) > cap:
                raise ProblemError(413, ProblemCode.PAYLOAD_TOO_LARGE, f"a JSON batch is at most {cap} bytes")
    except ClientDisconnect as exc:
        raise ProblemError(400, ProblemCode.CLIENT_DISCONNECTED, "the request was interrupted") from exc
    try:
        return BatchUrls.model_validate_json(bytes(data))
    except ValidationError as exc:
        errors = [
            {"loc": ["body", *map(str, err["loc"])], "msg": err["msg"], "type": err["type"]}
            for err in exc.errors(include_url=False, include_context=False)
        ]
        raise ProblemError(
            422, ProblemCode.VALIDATION_ERROR, "the batch is not valid", errors=errors
        ) from exc


def _url_list(raw: str) -> list[str]:
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, list) or not all(isinstance(url, str) for url in value):
        message = f"{URLS_FIELD} must be a JSON list of URLs"
        raise ProblemError(
            422,
            ProblemCode.VALIDATION_ERROR,
            message,
            errors=[{"loc": ["body", URLS_FIELD], "msg": message, "type": "list_type"}],
        )
    return value
