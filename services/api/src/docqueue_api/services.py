"""What a running API holds: connections and stores, built in the app's lifespan."""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from celery import Celery

from docqueue.celery_app import create_celery_app
from docqueue.jobs.async_store import AsyncJobStore
from docqueue.jobs.model import Job
from docqueue.redis_url import async_redis_client
from docqueue.storage import BlobStore, open_blob_store
from docqueue.webhooks import enqueue_webhook
from docqueue_api.auth import KeyResolver
from docqueue_api.events.source import EventStreams
from docqueue_api.ratelimit import RateLimiter
from docqueue_api.settings import ApiSettings


@dataclass
class ApiServices:
    settings: ApiSettings
    redis: aioredis.Redis
    jobs: AsyncJobStore
    blobs: BlobStore
    celery: Celery
    keys: KeyResolver
    # The per-tenant request budget, shared by every replica through Redis.
    rate_limiter: RateLimiter
    # Blocking reads of job event streams for SSE, on a Redis client of their own.
    events: EventStreams
    # Called (in a worker thread) with a job's final record after the API ends it (cancel).
    on_terminal: list[Callable[[Job], None]] = field(default_factory=list)

    async def close(self) -> None:
        await self.redis.aclose()
        await self.events.close()
        self.celery.close()


def build_services(settings: ApiSettings) -> ApiServices:
    client = async_redis_client(
        settings.redis_url,
        settings.sentinel_password,
        socket_timeout=5,
        socket_connect_timeout=3,
        health_check_interval=25,
    )
    celery = create_celery_app(settings, main="docqueue_api")
    return ApiServices(
        settings=settings,
        redis=client,
        jobs=AsyncJobStore(client, settings.retention_s),
        blobs=open_blob_store(settings.storage_url, settings.sentinel_password),
        celery=celery,
        keys=KeyResolver(client, settings.api_key_cache_s),
        rate_limiter=RateLimiter(client, settings.rate_limit_per_s, settings.rate_limit_burst),
        events=EventStreams(
            settings.redis_url, settings.sentinel_password, settings.sse_max_streams, settings.sse_heartbeat_s
        ),
        on_terminal=[_callback_listener(celery)],
    )


def _callback_listener(celery: Celery) -> Callable[[Job], None]:
    """Queues the webhook of a job the API ended (a cancel). The cancel already happened: a
    broker hiccup here is logged, not turned into an error answer."""

    def listener(job: Job) -> None:
        try:
            enqueue_webhook(celery, job)
        except Exception:
            logging.getLogger(__name__).exception(
                "could not queue the callback", extra={"task_id": job.task_id}
            )

    return listener
