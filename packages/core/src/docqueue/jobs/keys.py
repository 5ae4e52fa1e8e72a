"""The Redis key layout, written once. Every key docqueue owns starts with `docqueue:`: jobs and
their events, history and webhook attempts; batches; tenants' indexes, dedupe and idempotency answers;
API keys; dead letters; blobs (storage.redis_blobs); rate limits (the API); RedBeat's schedule
and lock (beat). Celery's own lists (`documents`, `unacked`...) are kombu's, named in names.py."""

PREFIX = "docqueue:"
JOB_PREFIX = f"{PREFIX}job:"

ACTIVE_JOBS = f"{PREFIX}jobs:active"  # zset task_id -> last update, non-terminal jobs only
JOB_EXPIRY = f"{PREFIX}jobs:expiry"  # zset task_id -> epoch seconds when retention deletes it
DEAD_LETTERS = f"{PREFIX}deadletters"  # stream of dead-lettered deliveries
DEAD_LETTER_INDEX = f"{PREFIX}deadletters:index"  # hash task_id -> its latest dead-letter entry id
# hash tenant -> pages of its unfinished jobs whose page count is known (fair shares: the API
# answers 429 above DOCQUEUE_TENANT_MAX_PAGES_IN_FLIGHT); kept by the job scripts
TENANT_PAGES_IN_FLIGHT = f"{PREFIX}tenants:pages_in_flight"
# hash tenant -> the most seconds its jobs are kept after they end (docqueue-keys retention)
TENANT_MAX_RETENTION = f"{PREFIX}tenants:max_retention_s"
# The webhook outbox: zset webhook message id (names.webhook_message_id) -> when its subject ended.
# The step that ends a task or batch with a callback_url adds it; the delivery's final attempt
# removes it; beat's reconciler queues again one whose message the broker no longer holds.
WEBHOOKS_DUE = f"{PREFIX}webhooks:due"
# zset batch_id -> created_at: batches whose members are still being created. CREATE_BATCH adds
# one, the member that completes it removes it; beat's reconciler closes one left incomplete (the
# API's request failed part way) on the members it has.
BATCHES_CREATING = f"{PREFIX}batches:creating"


def job(task_id: str) -> str:
    return f"{JOB_PREFIX}{task_id}"


def job_events(task_id: str) -> str:
    return f"{JOB_PREFIX}{task_id}:events"


def job_history(task_id: str) -> str:
    """A list of the job's attempts and transitions (JSON entries), kept across replays."""
    return f"{JOB_PREFIX}{task_id}:history"


def job_parts(task_id: str) -> str:
    """A hash of a split job's parts: index -> JSON {first, last, state, claim, ...} (jobs.parts)."""
    return f"{JOB_PREFIX}{task_id}:parts"


def job_webhook_attempts(task_id: str) -> str:
    """A list of the job's webhook delivery attempts (JSON entries). Its Redis name says
    "callbacks", from before "webhook" was the word; kept for stored data."""
    return f"{JOB_PREFIX}{task_id}:callbacks"


# Batches (docqueue.jobs.batches): a batch's record, its members in order, its events, its webhook's
# delivery attempts, and each tenant's batches.
BATCH_PREFIX = f"{PREFIX}batch:"


def batch(batch_id: str) -> str:
    return f"{BATCH_PREFIX}{batch_id}"


def batch_members(batch_id: str) -> str:
    return f"{BATCH_PREFIX}{batch_id}:members"


def batch_events(batch_id: str) -> str:
    return f"{BATCH_PREFIX}{batch_id}:events"


def batch_webhook_attempts(batch_id: str) -> str:
    return f"{BATCH_PREFIX}{batch_id}:webhooks"


def tenant_batches(tenant: str) -> str:
    return f"{PREFIX}tenant:{tenant}:batches"


def tenant_jobs(tenant: str) -> str:
    return f"{PREFIX}tenant:{tenant}:jobs"


def dedupe(tenant: str, fingerprint: str) -> str:
    return f"{PREFIX}dedupe:{tenant}:{fingerprint}"


def idempotency(tenant: str, key_digest: str) -> str:
    return f"{PREFIX}idempotency:{tenant}:{key_digest}"


def api_key(key_hash: str) -> str:
    return f"{PREFIX}apikey:{key_hash}"


# Blobs kept in Redis (storage.redis_blobs): a blob, a task's index of its blobs, a blob while it
# is written (its Redis name says "part", from before documents had parts; kept for stored data).
BLOB_PREFIX = f"{PREFIX}blob:"


def blob(key: str) -> str:
    return f"{BLOB_PREFIX}{key}"


def blob_task_index(task_id: str) -> str:
    return f"{BLOB_PREFIX}task:{task_id}"


def blob_unfinished(write_id: str) -> str:
    return f"{BLOB_PREFIX}part:{write_id}"


def rate_limit(tenant: str) -> str:
    """A tenant's GCRA state (the API's rate limiter)."""
    return f"{PREFIX}ratelimit:{tenant}"


# RedBeat's schedule entries and lock (beat's `redbeat_key_prefix`).
REDBEAT_PREFIX = f"{PREFIX}redbeat:"
