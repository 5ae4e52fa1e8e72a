"""Retention: delete jobs, their blobs and their events once their time is up."""

import logging
from dataclasses import dataclass

from docqueue.jobs import keys
from docqueue.jobs.store import JobStore
from docqueue.storage import BlobStore
from docqueue.text import as_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionReport:
    deleted: int


def apply_retention(jobs: JobStore, blobs: BlobStore, now: float, batch: int) -> RetentionReport:
    """Delete up to `batch` jobs whose expiry has passed, blobs first (a crash then leaves a job
    without blobs, which the next run deletes, never a blob without a job)."""
    expired = jobs.redis.zrangebyscore(keys.JOB_EXPIRY, "-inf", now, start=0, num=batch)
    for raw_id in expired:
        task_id = as_text(raw_id)
        blobs.purge_task(task_id)
        job = jobs.get(task_id)
        if job is not None:
            jobs.delete(job)
        else:
            # The record's own backstop expiry came first: only index entries are left.
            jobs.redis.zrem(keys.JOB_EXPIRY, task_id)
            jobs.redis.zrem(keys.ACTIVE_JOBS, task_id)
    if expired:
        log.info("retention deleted %d jobs", len(expired))
    return RetentionReport(deleted=len(expired))
