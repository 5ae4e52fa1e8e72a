"""Queue gauges computed when Prometheus scrapes: depth per queue (Celery's priority lists
included), age of the oldest waiting message, dead letters held, and whether Redis answered.

They read Redis, not process memory, so any API replica reports the same numbers. One scrape costs
one pipelined round trip to the broker (LLEN and LINDEX of each list) and one to the job store
(XLEN, and created_at of tail messages that carry no publish time); answers are cached for
`cache_s` (a second) so several scrapers cost no more.

Kombu's Redis transport LPUSHes and BRPOPs, so the oldest message of a list is its tail. A
message carries no enqueue time of its own: every docqueue publisher stamps one into the message
headers (`stamp_publish_time`); a message without it (published by something else) falls back to
its job's created_at.
"""

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from celery.signals import after_task_publish, before_task_publish
from kombu.transport.redis import PRIORITY_STEPS, Channel
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from docqueue import names
from docqueue.jobs import keys
from docqueue.metrics import task_label

log = logging.getLogger(__name__)

SENT_AT_HEADER = "docqueue_sent_at"


def queue_lists(queue: str) -> list[str]:
    """The Redis lists kombu keeps for one queue: the queue itself and one per priority step."""
    return [queue, *(f"{queue}{Channel.sep}{step}" for step in PRIORITY_STEPS if step)]


@dataclass(frozen=True)
class QueueSnapshot:
    redis_up: bool
    depth: dict[str, int] = field(default_factory=dict)
    oldest_age_s: dict[str, float] = field(default_factory=dict)
    dead_letters: int = 0
    # Pages of unfinished documents whose page count is known, all tenants (fair shares).
    pages_in_flight: int = 0


def sent_at(raw: bytes | str | None) -> tuple[float | None, str | None]:
    """(publish time, task id) of a raw kombu message; either may be unknown."""
    if raw is None:
        return None, None
    try:
        message = json.loads(raw)
        headers = message.get("headers") or {}
        stamped = headers.get(SENT_AT_HEADER)
        task_id = headers.get("id")
        return (float(stamped) if stamped is not None else None), (str(task_id) if task_id else None)
    except (ValueError, TypeError, AttributeError):
        return None, None


def read_queues(broker: redis.Redis, store: redis.Redis, queues: Sequence[str], now: float) -> QueueSnapshot:
    pipe = broker.pipeline(transaction=False)
    lists = {queue: queue_lists(queue) for queue in queues}
    for names_ in lists.values():
        for name in names_:
            pipe.llen(name)
            pipe.lindex(name, -1)
    replies: list[Any] = pipe.execute()
    depth: dict[str, int] = {}
    oldest: dict[str, float] = dict.fromkeys(queues, 0.0)
    unstamped: dict[str, list[str]] = {}
    position = 0
    for queue, names_ in lists.items():
        depth[queue] = 0
        for _ in names_:
            length, tail = int(replies[position] or 0), replies[position + 1]
            position += 2
            depth[queue] += length
            stamped, task_id = sent_at(tail)
            if stamped is not None:
                oldest[queue] = max(oldest[queue], now - stamped)
            elif task_id is not None:
                unstamped.setdefault(queue, []).append(task_id)
    store_pipe = store.pipeline(transaction=False)
    store_pipe.xlen(keys.DEAD_LETTERS)
    store_pipe.hvals(keys.TENANT_PAGES_IN_FLIGHT)
    pending = [(queue, task_id) for queue, ids in unstamped.items() for task_id in ids]
    for _, task_id in pending:
        store_pipe.hget(keys.job(names.job_of_message(task_id)), "created_at")
    store_replies: list[Any] = store_pipe.execute()
    pages_in_flight = sum(max(0, int(value)) for value in store_replies[1])
    for (queue, _), created in zip(pending, store_replies[2:], strict=True):
        if created is not None:
            oldest[queue] = max(oldest[queue], now - float(created))
    ages = {q: max(0.0, age) for q, age in oldest.items()}
    return QueueSnapshot(True, depth, ages, int(store_replies[0]), pages_in_flight)


class QueueCollector(Collector):
    """A prometheus collector over `read_queues`, cached for `cache_s`."""

    def __init__(
        self,
        broker: redis.Redis,
        store: redis.Redis,
        queues: Sequence[str] = names.QUEUES,
        cache_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.broker = broker
        self.store = store
        self.queues = tuple(queues)
        self.cache_s = cache_s
        self.clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, QueueSnapshot] | None = None

    def snapshot(self) -> QueueSnapshot:
        with self._lock:
            now = self.clock()
            if self._cached is not None and now - self._cached[0] < self.cache_s:
                return self._cached[1]
            try:
                snapshot = read_queues(self.broker, self.store, self.queues, now)
            except (redis.RedisError, OSError) as exc:
                log.warning("queue metrics: Redis did not answer (%s)", type(exc).__name__)
                snapshot = QueueSnapshot(redis_up=False)
            self._cached = (now, snapshot)
            return snapshot

    def describe(self) -> Iterable[Metric]:
        # Names only: registering must not reach Redis.
        return list(_empty_families())

    def collect(self) -> Iterable[Metric]:
        return list(self._families(self.snapshot()))

    def _families(self, snapshot: QueueSnapshot) -> Iterator[Metric]:
        families = _empty_families()
        up, depth, age, dead, pages = families
        up.add_metric([], 1.0 if snapshot.redis_up else 0.0)
        yield up
        if not snapshot.redis_up:
            return  # no stale numbers while Redis is away
        for queue in self.queues:
            depth.add_metric([queue], float(snapshot.depth.get(queue, 0)))
            age.add_metric([queue], snapshot.oldest_age_s.get(queue, 0.0))
        dead.add_metric([], float(snapshot.dead_letters))
        pages.add_metric([], float(snapshot.pages_in_flight))
        yield from (depth, age, dead, pages)


def _empty_families() -> tuple[GaugeMetricFamily, ...]:
    return (
        GaugeMetricFamily("docqueue_redis_up", "1 when Redis answered this scrape's queue reads, else 0"),
        GaugeMetricFamily(
            "docqueue_queue_depth",
            "Messages waiting in a queue, all of Celery's priority lists counted",
            labels=["queue"],
        ),
        GaugeMetricFamily(
            "docqueue_queue_oldest_age_seconds",
            "Seconds the oldest waiting message of a queue has waited (0 when it is empty)",
            labels=["queue"],
        ),
        GaugeMetricFamily("docqueue_dead_letter_entries", "Dead letters held in the dead-letter stream"),
        GaugeMetricFamily(
            "docqueue_pages_in_flight",
            "Pages of unfinished documents whose page count is known, all tenants "
            "(DOCQUEUE_TENANT_MAX_PAGES_IN_FLIGHT caps each tenant's share)",
        ),
    )


def stamp_publish_time() -> None:
    """Every message this process publishes carries its publish time (see the module docstring)."""
    before_task_publish.connect(_stamp, weak=False, dispatch_uid="docqueue-stamp-publish-time")


def _stamp(headers: dict[str, Any] | None = None, **_: Any) -> None:
    if headers is not None:
        # This publish's time, also when a re-publish copied the headers of an earlier one.
        headers[SENT_AT_HEADER] = time.time()


def count_submissions(counter: Counter) -> None:
    """Count first publishes (a retry re-publishes the same task: not a new submission)."""

    def count(sender: Any = None, headers: dict[str, Any] | None = None, **_: Any) -> None:
        if not (headers or {}).get("retries"):
            name = sender if isinstance(sender, str) else getattr(sender, "name", None)
            counter.labels(task=task_label(name)).inc()

    after_task_publish.connect(count, weak=False, dispatch_uid="docqueue-count-submissions")
