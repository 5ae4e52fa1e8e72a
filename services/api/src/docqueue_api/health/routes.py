"""Liveness, readiness and metrics: unauthenticated, for the kubelet and Prometheus."""

import anyio
from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from redis.exceptions import RedisError

from docqueue.errors import ProblemCode
from docqueue_api.dependencies import ServicesDep
from docqueue_api.problems import ProblemError, problem_responses

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


@router.get("/healthz", name="health_live", response_model=Health)
async def healthz() -> Health:
    """The process is alive (no dependency is checked: a Redis outage must not restart the API)."""
    return Health(status="ok")


@router.get("/readyz", name="health_ready", response_model=Health, responses=problem_responses(503))
async def readyz(services: ServicesDep) -> Health:
    """Ready to accept uploads: Redis answers."""
    try:
        await services.redis.ping()
    except (RedisError, OSError) as exc:
        raise ProblemError(
            503, ProblemCode.REDIS_UNAVAILABLE, "Redis is not reachable", headers={"Retry-After": "5"}
        ) from exc
    return Health(status="ready")


@router.get("/metrics", response_class=Response, include_in_schema=False)
async def metrics() -> Response:
    # In a thread: the queue gauges read Redis with a blocking client (docqueue.metrics_queues).
    return Response(await anyio.to_thread.run_sync(generate_latest), media_type=CONTENT_TYPE_LATEST)
