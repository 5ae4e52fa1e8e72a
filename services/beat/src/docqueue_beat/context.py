"""Per-process services of the beat's maintenance worker."""

import os
from dataclasses import dataclass

import redis

from docqueue.jobs.store import JobStore
from docqueue.redis_url import redis_client
from docqueue.storage import BlobStore, open_blob_store
from docqueue_beat.settings import BeatSettings


@dataclass(frozen=True)
class BeatContext:
    settings: BeatSettings
    jobs: JobStore
    blobs: BlobStore
    broker: redis.Redis  # the Celery broker's Redis, read (never consumed) by the reconciler


class BeatContextHolder:
    """Builds the context lazily, once per process id (never shared across a fork)."""

    def __init__(self, settings: BeatSettings) -> None:
        self.settings = settings
        self._pid = -1
        self._context: BeatContext | None = None

    def __call__(self) -> BeatContext:
        if self._context is None or self._pid != os.getpid():
            password = self.settings.sentinel_password
            client = redis_client(
                self.settings.redis_url, password, socket_timeout=10, socket_connect_timeout=5
            )
            jobs = JobStore(client, self.settings.retention_s)
            broker = redis_client(
                self.settings.effective_broker_url, password, socket_timeout=10, socket_connect_timeout=5
            )
            self._context = BeatContext(
                self.settings, jobs, open_blob_store(self.settings.storage_url, password), broker
            )
            self._pid = os.getpid()
        return self._context
