"""Settings profiles the fault suite and the soak share: a stack that heals in seconds.

(The soak in bench/ is not a test and must not import from tests/, so the profile lives here.)
"""

# Short enough for a quick suite, ordered as the settings demand:
# soft < hard < hard + backoff max < visibility timeout; lease = 4 x heartbeat.
FAULT_ENV: dict[str, str] = {
    "DOCQUEUE_TASK_SOFT_TIME_LIMIT_S": "30",
    "DOCQUEUE_TASK_TIME_LIMIT_S": "35",
    "DOCQUEUE_RETRY_BACKOFF_BASE_S": "0.5",
    "DOCQUEUE_RETRY_BACKOFF_MAX_S": "2",
    "DOCQUEUE_VISIBILITY_TIMEOUT_S": "40",
    "DOCQUEUE_HEARTBEAT_INTERVAL_S": "0.5",
    "DOCQUEUE_MAX_RETRIES": "2",
    "DOCQUEUE_MAX_ATTEMPTS": "4",
    "DOCQUEUE_MAX_PAGES": "20000",
    "DOCQUEUE_WORKER_SOFT_SHUTDOWN_TIMEOUT_S": "1",
    "DOCQUEUE_PROGRESS_INTERVAL_S": "0.05",
    "DOCQUEUE_RECONCILE_INTERVAL_S": "1",
    "DOCQUEUE_RECONCILE_GRACE_S": "3",
    "DOCQUEUE_RETENTION_INTERVAL_S": "5",
    "DOCQUEUE_LOG_FORMAT": "json",
    # Documents are read whole, as the fault tests of one long run expect; the part faults
    # (tests/faults/test_part_faults.py) turn splitting on.
    "DOCQUEUE_SPLIT_MIN_PAGES": "0",
}
