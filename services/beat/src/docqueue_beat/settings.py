"""The beat service's settings: the shared ones plus its schedule."""

from pydantic import Field

from docqueue.settings import Settings


class BeatSettings(Settings):
    """`DOCQUEUE_*` settings of the beat process."""

    # Seconds between two retention runs (expired jobs and their blobs are deleted).
    retention_interval_s: float = Field(default=300.0, gt=0)
    # Seconds between two reconciler runs (lost or stuck work is re-queued or dead-lettered).
    reconcile_interval_s: float = Field(default=30.0, gt=0)
    # A queued or retrying job, or a webhook of the outbox, with no message in the broker for this
    # long is re-enqueued.
    reconcile_grace_s: float = Field(default=60.0, gt=0)
    # Jobs handled per maintenance run, so one run stays short.
    maintenance_batch: int = Field(default=500, ge=1)
    # RedBeat's lock: a second beat replica waits on it and takes over when it expires.
    beat_lock_timeout_s: int = Field(default=60, ge=5)
