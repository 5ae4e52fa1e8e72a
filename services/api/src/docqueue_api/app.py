"""The API application factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

import docqueue
from docqueue_api.batches.routes import router as batches_router
from docqueue_api.dead_letters.routes import router as dead_letters_router
from docqueue_api.documents.routes import router as documents_router
from docqueue_api.events.routes import router as events_router
from docqueue_api.health.routes import router as health_router
from docqueue_api.middleware import install_middleware
from docqueue_api.observability import finished_listener, install_metrics, start_queue_metrics
from docqueue_api.problems import install_problem_handlers
from docqueue_api.services import build_services
from docqueue_api.settings import ApiSettings
from docqueue_api.tasks.routes import router as tasks_router
from docqueue_api.web.docs import install_docs
from docqueue_api.web.routes import router as web_router
from docqueue_api.webhooks import install_webhooks

DESCRIPTION = """Upload a document and get a task id in milliseconds; follow its progress; fetch its
pages and retrieval chunks. Every error is `application/problem+json` with a stable `code`."""


def operation_id(route: APIRoute) -> str:
    return route.name


def create_app(settings: ApiSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(settings)
        services.on_terminal.append(finished_listener(metrics))
        stop_queue_metrics = start_queue_metrics(settings)
        app.state.services = services
        try:
            yield
        finally:
            stop_queue_metrics()
            await services.close()

    app = FastAPI(
        title="docqueue",
        version=docqueue.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # Served from files the image carries, not a CDN (web/docs.py).
        docs_url=None,
        redoc_url=None,
        # `<domain>_<verb>`, the name each route is given (documents_upload, tasks_get, ...): what
        # generated SDKs call their methods, so it never changes with a path or a function name.
        generate_unique_id_function=operation_id,
    )
    install_problem_handlers(app)
    install_middleware(app, settings)
    # Outermost, so it sees every answer (see middleware/metrics.py).
    metrics = install_metrics(app, settings)
    app.include_router(documents_router)
    app.include_router(tasks_router)
    app.include_router(events_router)
    app.include_router(batches_router)
    app.include_router(web_router)
    app.include_router(dead_letters_router)
    app.include_router(health_router)
    install_webhooks(app)
    install_docs(app)
    return app
