"""Make the OpenAPI document say every problem a route can answer, whoever wrote the route.

FastAPI documents only what a route declares, and its automatic 422 describes FastAPI's own error
shape, not the problem+json docqueue answers. This post-processor derives the rest from what an
operation is: an authenticated route can answer 401, 403, 429 (rate limit) and 503 (Redis down);
a route with parameters or a body can answer 422; a route with a body can answer 413.
"""

from typing import Any

from fastapi import FastAPI

from docqueue_api.examples import PROBLEM, add_examples
from docqueue_api.problems import PROBLEM_JSON, Problem, problem_title

PROBLEM_REF = "#/components/schemas/Problem"
AUTHENTICATED = (401, 403, 429, 503)
_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})


def _problem(status: int) -> dict[str, Any]:
    return {
        "description": problem_title(status),
        "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
    }


def complete_operation(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    statuses: list[int] = []
    if operation.get("security"):
        statuses += AUTHENTICATED
    if operation.get("parameters") or operation.get("requestBody"):
        statuses.append(422)
    if operation.get("requestBody"):
        statuses.append(413)
    for code in statuses:
        responses.setdefault(str(code), _problem(code))
    # FastAPI's automatic 422 names its own ValidationError shape; docqueue answers a problem.
    if "422" in responses and PROBLEM_JSON not in responses["422"].get("content", {}):
        responses["422"] = _problem(422)
    for key, response in responses.items():
        content = response.get("content", {})
        status = str(key)
        # Every error is problem+json only (FastAPI also lists application/json for a `model`).
        if (
            status.isdigit()
            and int(status) >= 400
            and (PROBLEM_JSON in content or PROBLEM_REF in str(content))
        ):
            response["content"] = {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}


def complete_openapi(app: FastAPI) -> None:
    """Wrap `app.openapi` so the generated (and cached) document is completed once."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas["Problem"] = {**schemas.get("Problem", problem), "examples": [PROBLEM]}
        for path_item in schema.get("paths", {}).values():
            for method, operation in path_item.items():
                if method in _METHODS:
                    complete_operation(operation)
                    add_examples(operation)
        for path_item in schema.get("webhooks", {}).values():
            for method, operation in path_item.items():
                if method in _METHODS:
                    # What the receiver answers besides 2xx is said in words (retried or final);
                    # FastAPI's automatic 422 would describe docqueue's own validation errors.
                    operation["responses"].pop("422", None)
                    add_examples(operation)
        for unused in ("HTTPValidationError", "ValidationError"):
            if unused in schemas and f"'#/components/schemas/{unused}'" not in str(schema):
                del schemas[unused]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
