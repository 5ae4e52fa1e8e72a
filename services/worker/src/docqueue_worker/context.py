"""Per-process services of a worker. Built after the pool forks: a Redis connection must never be
shared between a parent and its children."""

import os
from dataclasses import dataclass

import redis

from docqueue.jobs.store import JobStore
from docqueue.settings import Settings
from docqueue.storage import BlobStore, open_blob_store
from docqueue_worker.processor import DocumentProcessor


@dataclass(frozen=True)
class WorkerContext:
    settings: Settings
    redis: redis.Redis
    jobs: JobStore
    blobs: BlobStore
    processor: DocumentProcessor


def build_context(settings: Settings) -> WorkerContext:
    client: redis.Redis = redis.Redis.from_url(
        settings.redis_url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=25
    )
    jobs = JobStore(client, settings.retention_s)
    blobs = open_blob_store(settings.storage_url)
    return WorkerContext(settings, client, jobs, blobs, DocumentProcessor(jobs, blobs, settings))


class ContextHolder:
    """Builds the context lazily, once per process id."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pid = -1
        self._context: WorkerContext | None = None

    def __call__(self) -> WorkerContext:
        if self._context is None or self._pid != os.getpid():
            self._context = build_context(self.settings)
            self._pid = os.getpid()
        return self._context
