"""The beat schedule and RedBeat's settings."""

from typing import Any

from docqueue import names
from docqueue.jobs.keys import REDBEAT_PREFIX
from docqueue.redis_url import redbeat_connection
from docqueue_beat.settings import BeatSettings


def beat_config(settings: BeatSettings) -> dict[str, Any]:
    # Each run expires after its interval: a backlog of maintenance runs is never useful.
    return {
        "beat_scheduler": "docqueue_beat.scheduler:ResilientRedBeatScheduler",
        # RedBeat's URL and options: for a redis+sentinel:// URL, its own Sentinel support.
        **redbeat_connection(
            settings.redis_url,
            settings.sentinel_password,
            {"socket_timeout": 10, "socket_connect_timeout": 5, "retry_on_timeout": True},
        ),
        "redbeat_key_prefix": REDBEAT_PREFIX,
        "redbeat_lock_timeout": settings.beat_lock_timeout_s,
        "beat_max_loop_interval": min(5, settings.beat_lock_timeout_s // 5),
        "beat_schedule": {
            "retention": {
                "task": names.APPLY_RETENTION,
                "schedule": settings.retention_interval_s,
                "options": {"expires": settings.retention_interval_s},
            },
            "reconcile": {
                "task": names.RECONCILE_JOBS,
                "schedule": settings.reconcile_interval_s,
                "options": {"expires": settings.reconcile_interval_s},
            },
        },
    }
