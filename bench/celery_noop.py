"""A bare Celery round trip for the end-to-end baseline: docqueue's own Celery configuration (same
broker options, acks late, prefetch 1, events), one task that only answers on a Redis list."""

import os

import redis
from kombu import Exchange, Queue

from docqueue.celery_app import create_celery_app
from docqueue.settings import Settings

QUEUE = "bench"
TASK = "bench.noop"


def reply_key(token: str) -> str:
    return f"bench:reply:{token}"


# The bench stack hands it its private Redis as DOCQUEUE_REDIS_URL, as it does to docqueue.
settings = Settings()
app = create_celery_app(settings, main="bench")
app.conf.task_queues = [
    *app.conf.task_queues,
    Queue(QUEUE, Exchange(QUEUE, type="direct"), routing_key=QUEUE),
]
app.conf.task_routes = {
    **app.conf.task_routes,
    TASK: {"queue": QUEUE, "exchange": QUEUE, "routing_key": QUEUE},
}
_clients: dict[int, redis.Redis] = {}


def _replies() -> redis.Redis:
    """One connection per pool process (never one shared across the fork)."""
    pid = os.getpid()
    if pid not in _clients:
        _clients[pid] = redis.Redis.from_url(settings.redis_url)
    return _clients[pid]


@app.task(name=TASK)
def noop(token: str) -> None:
    _replies().rpush(reply_key(token), b"1")
