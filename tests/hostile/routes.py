"""Walk the app's routes (through FastAPI's included routers) and the scope each one requires."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Route

from docqueue.auth import Scope

# Routes anyone may call: probes, metrics, the API description and the upload page.
PUBLIC = frozenset(
    {
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/docs/oauth2-redirect"),
        ("GET", "/redoc"),
        ("GET", "/"),
        ("GET", "/ui/app.js"),
        ("GET", "/ui/app.css"),
    }
)


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    scopes: frozenset[Scope]


def _scopes(dependant: Dependant) -> Iterator[Scope]:
    scope = getattr(dependant.call, "required_scope", None)
    if scope is not None:
        yield scope
    for sub in dependant.dependencies:
        yield from _scopes(sub)


def _walk(routes: list[BaseRoute], prefix: str, extra: list[Any]) -> Iterator[RouteInfo]:
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:  # FastAPI's included router: recurse with its include prefix
            context = route.include_context  # type: ignore[attr-defined]
            yield from _walk(original.routes, prefix + context.prefix, [*extra, *context.dependencies])
        elif isinstance(route, APIRoute):
            scopes = set(_scopes(route.dependant))
            for depends in extra:
                scope = getattr(depends.dependency, "required_scope", None)
                if scope is not None:
                    scopes.add(scope)
            for method in sorted(route.methods or ["GET"]):
                yield RouteInfo(method, prefix + route.path, frozenset(scopes))
        elif isinstance(route, Route):
            for method in sorted(route.methods or ["GET"]):
                if method != "HEAD":
                    yield RouteInfo(method, prefix + route.path, frozenset())


def all_routes(app: FastAPI) -> list[RouteInfo]:
    return list(_walk(list(app.routes), "", []))
