"""POST /v1/documents: upload a document, get a task id at once."""

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from docqueue.media import MediaType
from docqueue_api.dependencies import ServicesDep, SubmitterDep
from docqueue_api.documents.prefer import finished_within
from docqueue_api.documents.schemas import Accepted, Finished
from docqueue_api.documents.service import submit_document
from docqueue_api.problems import problem_responses

router = APIRouter(prefix="/v1/documents", tags=["documents"])

# The processing options an upload (or a batch, for all its members) may set.
UPLOAD_OPTIONS: dict[str, Any] = {
    "chunk_size": {
        "type": "integer",
        "minimum": 50,
        "maximum": 100000,
        "default": 1000,
        "description": "Characters, or tokens under chunk_by=tokens, per chunk",
    },
    "chunk_overlap": {
        "type": "integer",
        "minimum": 0,
        "maximum": 50000,
        "default": 150,
        "description": "Characters (or tokens) neighbouring chunks share; below chunk_size",
    },
    "chunk_by": {
        "type": "string",
        "enum": ["characters", "tokens"],
        "description": "What chunk_size and chunk_overlap count: characters, or tokens of "
        "the deployment's tokenizer (DOCQUEUE_TOKENIZER, cl100k_base). Part of dedupe. "
        "Default: DOCQUEUE_CHUNK_BY (characters)",
    },
    "engine": {
        "type": "string",
        "enum": ["pypdf", "pdfium"],
        "description": "The PDF engine; part of dedupe. Default: the deployment's "
        "DOCQUEUE_PDF_ENGINE (pypdf)",
    },
    "text_normalization": {
        "type": "string",
        "enum": ["standard", "none"],
        "description": "standard: NFC, ligatures folded, line-end hyphens joined, "
        "controls removed; none: the reader's raw text. Part of dedupe. Default: "
        "the deployment's DOCQUEUE_TEXT_NORMALIZATION (standard)",
    },
    "ocr": {
        "type": "string",
        "enum": ["auto", "always", "never"],
        "description": "auto: OCR only pages without a text layer that carry drawn "
        "content; part of dedupe. Default: the deployment's DOCQUEUE_OCR (auto)",
    },
    "ocr_languages": {
        "type": "string",
        "pattern": "^[a-z]{3}(_[a-z]+)?(\\+[a-z]{3}(_[a-z]+)?)*$",
        "description": "Tesseract languages, e.g. eng+deu (installed ones only); part "
        "of dedupe. Default: the deployment's DOCQUEUE_OCR_LANGUAGES (eng)",
    },
    "ttl_s": {
        "type": "integer",
        "minimum": 60,
        "description": (
            "Seconds the task, its result and its upload are kept once it ended, at most "
            "the tenant's (or the deployment's) retention; not part of dedupe"
        ),
    },
}

_UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            # What the file may be; docqueue decides from its bytes, whatever type is declared.
            "encoding": {"file": {"contentType": ", ".join(MediaType)}},
            "schema": {
                "type": "object",
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "A PDF, DOCX, PPTX, XLSX, ODT, EPUB, HTML or XHTML page, PNG, "
                        "JPEG, TIFF, WebP, plain text, Markdown (text named *.md) or CSV (rows that line "
                        "up, named *.csv or *.tsv) file, recognised by its bytes. Send this or source_url",
                    },
                    "source_url": {
                        "type": "string",
                        "format": "uri",
                        "maxLength": 2048,
                        "description": "Instead of a file: an https URL (or s3://bucket/key from a "
                        "bucket the deployment allows) the worker fetches, under the upload size cap, "
                        "with the webhook URL rules (no private, loopback or link-local targets, checked "
                        "again after every redirect). Not deduplicated (the bytes are unknown until "
                        "fetched)",
                    },
                    **UPLOAD_OPTIONS,
                    "callback_url": {
                        "type": "string",
                        "format": "uri",
                        "description": "https URL that receives a signed POST when the task ends",
                    },
                },
            },
        }
    },
}


PREFERENCE_APPLIED = {
    "Preference-Applied": {"description": "`wait=N` when the wait was applied", "schema": {"type": "string"}},
    "Location": {"description": "The task's status URL", "schema": {"type": "string"}},
}


@router.post(
    "",
    name="documents_upload",
    status_code=202,
    response_model=Accepted,
    openapi_extra={"requestBody": _UPLOAD_BODY},
    responses={
        200: {
            "model": Accepted | Finished,
            "description": (
                "The same document and options were already submitted (`Accepted`, deduplicated); "
                "or, with `Prefer: wait=N`, the task ended within N seconds (`Finished`: its full "
                "status, whatever the outcome)"
            ),
            "headers": PREFERENCE_APPLIED,
        },
        202: {"headers": PREFERENCE_APPLIED},
        **problem_responses(400, 401, 403, 413, 415, 422, 503),
    },
)
async def upload_document(
    request: Request,
    services: ServicesDep,
    caller: SubmitterDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    prefer: Annotated[
        str | None,
        Header(
            alias="Prefer",
            description=(
                "`wait=N` (RFC 7240): answer `200` with the task's full status if it ends within N "
                "seconds (at most DOCQUEUE_MAX_PREFER_WAIT_S, 30 by default), else the usual `202`"
            ),
        ),
    ] = None,
) -> JSONResponse:
    """Store the document (or note its `source_url`) and queue it for processing; answers before
    any processing happens, unless `Prefer: wait=N` asks to wait for quick work (the task is
    queued all the same)."""
    submission = await submit_document(request, services, caller, idempotency_key)
    accepted = submission.accepted
    headers = {"Location": accepted.status_url}
    # Every Prefer header counts (RFC 7240 allows several): `prefer` is here for the schema.
    finished, waited_s = await finished_within(services, request, accepted) if prefer else (None, None)
    if waited_s is not None:
        headers["Preference-Applied"] = f"wait={waited_s}"
    if finished is not None:
        return JSONResponse(finished.model_dump(mode="json"), status_code=200, headers=headers)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=submission.status, headers=headers)
