"""HTTP hardening as pure ASGI middleware (streaming-friendly: nothing buffers a response).

Outermost first: request id → security headers → CORS (only when origins are configured) →
Allow on 405 → body limit → FastAPI's own exception handling and routes.
"""

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response

from docqueue.errors import ProblemCode
from docqueue_api.batches.receive import batch_form_limits
from docqueue_api.documents.upload import UploadLimits, upload_body_cap
from docqueue_api.middleware.allow import AllowHeaderMiddleware
from docqueue_api.middleware.body_limit import BodyLimitMiddleware
from docqueue_api.middleware.openapi import complete_openapi
from docqueue_api.middleware.request_id import RequestIdMiddleware, install_log_record_request_id
from docqueue_api.middleware.security_headers import SecurityHeadersMiddleware
from docqueue_api.problems import ProblemError, problem_response
from docqueue_api.settings import ApiSettings

UPLOAD_ROUTE = ("POST", "/v1/documents")
BATCH_ROUTE = ("POST", "/v1/batches")
CORS_ALLOW_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID", "X-Request-ID")
CORS_EXPOSE_HEADERS = ("Location", "Retry-After", "X-Request-ID")


async def _too_large(request: Request, exc: HTTPException) -> Response:
    return problem_response(request, ProblemError(413, ProblemCode.PAYLOAD_TOO_LARGE, str(exc.detail)))


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Logged by the app's own handler (it still runs); here only the answer is made.
    return problem_response(
        request, ProblemError(500, ProblemCode.INTERNAL_ERROR, "an unexpected error occurred")
    )


def install_middleware(app: FastAPI, settings: ApiSettings) -> None:
    install_log_record_request_id()
    limits = UploadLimits(settings.max_upload_bytes, settings.max_parts, settings.max_field_bytes)
    app.add_middleware(
        BodyLimitMiddleware,
        default_bytes=settings.max_request_body_bytes,
        limits={UPLOAD_ROUTE: upload_body_cap(limits), BATCH_ROUTE: batch_form_limits(settings).body_cap()},
        on_too_large=_too_large,
    )
    app.add_middleware(AllowHeaderMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=("GET", "POST", "DELETE"),
            allow_headers=CORS_ALLOW_HEADERS,
            expose_headers=CORS_EXPOSE_HEADERS,
            max_age=settings.cors_max_age_s,
        )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestIdMiddleware, on_error=_unexpected)
    complete_openapi(app)
