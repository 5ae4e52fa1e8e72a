"""RFC 9457 problem details: every error the API returns, with a stable machine `code`."""

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from kombu.exceptions import OperationalError
from pydantic import BaseModel
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

from docqueue.errors import ProblemCode

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_DEFAULT_CODES = {
    400: ProblemCode.BAD_REQUEST,
    401: ProblemCode.UNAUTHORIZED,
    403: ProblemCode.FORBIDDEN,
    404: ProblemCode.NOT_FOUND,
    405: ProblemCode.METHOD_NOT_ALLOWED,
    413: ProblemCode.PAYLOAD_TOO_LARGE,
    415: ProblemCode.UNSUPPORTED_MEDIA_TYPE,
    422: ProblemCode.VALIDATION_ERROR,
    429: ProblemCode.RATE_LIMITED,
    500: ProblemCode.INTERNAL_ERROR,
    503: ProblemCode.SERVICE_UNAVAILABLE,
}


class Problem(BaseModel):
    """An error response (`application/problem+json`)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    # The request's X-Request-ID (also in the response header and the logs), to quote in a report.
    request_id: str | None = None
    errors: list[dict[str, Any]] | None = None


class ProblemError(Exception):
    """Raise to answer with a problem document."""

    def __init__(
        self,
        status: int,
        code: ProblemCode,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})
        self.errors = errors


def problem_response(request: Request, error: ProblemError) -> JSONResponse:
    body = Problem(
        type=f"urn:docqueue:problem:{error.code}",
        title=_TITLES.get(error.status, "Error"),
        status=error.status,
        detail=error.detail,
        code=error.code,
        instance=request.url.path,
        request_id=getattr(request.state, "request_id", None),
        errors=error.errors,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=error.status,
        headers=error.headers,
        media_type=PROBLEM_JSON,
    )


def problem_title(status: int) -> str:
    return _TITLES.get(status, "Error")


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problems a route may answer with."""
    return {
        status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": _TITLES[status]}
        for status in statuses
    }


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        return problem_response(request, exc)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _DEFAULT_CODES.get(exc.status_code, ProblemCode.HTTP_ERROR)
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "")
        headers = dict(exc.headers or {})
        return problem_response(request, ProblemError(exc.status_code, code, detail, headers=headers))

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {
                "loc": list(err.get("loc", ())),
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
            for err in exc.errors()
        ]
        error = ProblemError(422, ProblemCode.VALIDATION_ERROR, "the request is not valid", errors=errors)
        return problem_response(request, error)

    async def on_backend_down(request: Request, exc: Exception) -> JSONResponse:
        # Redis (jobs, keys, broker) unreachable: the client should come back, not give up.
        log.warning("backend unavailable: %r", exc)
        error = ProblemError(
            503,
            ProblemCode.SERVICE_UNAVAILABLE,
            "docqueue's backend is unavailable",
            headers={"Retry-After": "5"},
        )
        return problem_response(request, error)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem_response(
            request, ProblemError(500, ProblemCode.INTERNAL_ERROR, "an unexpected error occurred")
        )

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(RedisError, on_backend_down)
    app.add_exception_handler(OperationalError, on_backend_down)
    app.add_exception_handler(Exception, on_unexpected)
