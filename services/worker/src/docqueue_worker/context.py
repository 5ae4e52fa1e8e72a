"""Per-process services of a worker. Built after the pool forks: a Redis connection must never be
shared between a parent and its children."""

import os
from dataclasses import dataclass
from functools import partial

import redis
from celery import Celery

from docqueue.jobs.store import JobStore
from docqueue.lanes import publish_part
from docqueue.redis_url import redis_client
from docqueue.settings import Settings
from docqueue.storage import BlobStore, open_blob_store
from docqueue.webhooks import enqueue_webhook
from docqueue_worker.observability import run_observer, terminal_listener
from docqueue_worker.parts import PartProcessor
from docqueue_worker.processor import DocumentProcessor
from docqueue_worker.webhooks import WebhookSender


@dataclass(frozen=True)
class WorkerContext:
    settings: Settings
    redis: redis.Redis
    jobs: JobStore
    blobs: BlobStore
    processor: DocumentProcessor
    parts: PartProcessor
    webhooks: WebhookSender


def build_context(settings: Settings, app: Celery | None = None) -> WorkerContext:
    client = redis_client(
        settings.redis_url,
        settings.sentinel_password,
        socket_timeout=10,
        socket_connect_timeout=5,
        health_check_interval=25,
    )
    jobs = JobStore(client, settings.retention_s)
    blobs = open_blob_store(settings.storage_url, settings.sentinel_password)
    # A job that ends queues its webhook (and an ended batch's) on the webhooks queue: never
    # delivered inline.
    listeners = [partial(enqueue_webhook, app)] if app is not None else []
    processor = DocumentProcessor(
        jobs,
        blobs,
        settings,
        on_terminal=[*listeners, terminal_listener(settings)],
        run_observer=run_observer(settings),
        publish_part=partial(publish_part, app, settings=settings) if app is not None else None,
    )
    parts = PartProcessor(processor)
    return WorkerContext(settings, client, jobs, blobs, processor, parts, WebhookSender(client, settings))


class ContextHolder:
    """Builds the context lazily, once per process id."""

    def __init__(self, settings: Settings, app: Celery | None = None) -> None:
        self.settings = settings
        self.app = app
        self._pid = -1
        self._context: WorkerContext | None = None

    def __call__(self) -> WorkerContext:
        if self._context is None or self._pid != os.getpid():
            self._context = build_context(self.settings, self.app)
            self._pid = os.getpid()
        return self._context
