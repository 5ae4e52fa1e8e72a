"""What the Redis broker holds: which task ids have a message waiting or delivered-but-unacked
(a split document's part messages count for their job).

Reads kombu's Redis transport layout (queue lists, including Celery's priority lists, and the
`unacked` hash with its `unacked_index` delivery times) without consuming anything.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis

from docqueue import names
from docqueue.text import as_text

# kombu's Redis transport: priority lists are "<queue>\x06\x16<step>" for the non-zero steps.
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)
UNACKED = "unacked"
UNACKED_INDEX = "unacked_index"


@dataclass(frozen=True)
class Delivery:
    tag: str
    task_id: str
    delivered_at: float


@dataclass(frozen=True)
class BrokerView:
    waiting: frozenset[str]  # task ids with a message in a queue list
    delivered: dict[str, float]  # task id -> when its unacked message was delivered (latest)
    deliveries: tuple[Delivery, ...] = ()

    def has_message(self, task_id: str, delivered_after: float = 0.0) -> bool:
        return task_id in self.waiting or self.delivered.get(task_id, -1.0) >= delivered_after


def queue_lists(queues: Iterable[str]) -> list[str]:
    return [
        name
        for queue in queues
        for name in (queue, *(f"{queue}{PRIORITY_SEPARATOR}{p}" for p in PRIORITY_STEPS))
    ]


def read_broker(client: redis.Redis, queues: Iterable[str]) -> BrokerView:
    waiting: set[str] = set()
    for name in queue_lists(queues):
        messages: list[Any] = client.lrange(name, 0, -1)
        for raw in messages:
            task_id = _task_id(json.loads(raw))
            if task_id:
                waiting.add(task_id)
    index: list[Any] = client.zrange(UNACKED_INDEX, 0, -1, withscores=True)
    delivered_at = {as_text(tag): float(score) for tag, score in index}
    delivered: dict[str, float] = {}
    deliveries: list[Delivery] = []
    unacked: dict[Any, Any] = client.hgetall(UNACKED)
    for tag, raw in unacked.items():
        message, _exchange, _routing_key = json.loads(raw)
        task_id = _task_id(message)
        if task_id:
            at = delivered_at.get(as_text(tag), 0.0)
            delivered[task_id] = max(at, delivered.get(task_id, 0.0))
            deliveries.append(Delivery(as_text(tag), task_id, at))
    return BrokerView(frozenset(waiting), delivered, tuple(deliveries))


def forget_deliveries(client: redis.Redis, tags: list[str]) -> None:
    """Drop unacked entries, as kombu's own ack does."""
    if tags:
        pipe = client.pipeline()
        pipe.zrem(UNACKED_INDEX, *tags)
        pipe.hdel(UNACKED, *tags)
        pipe.execute()


def _task_id(message: dict[str, Any]) -> str | None:
    headers = message.get("headers") or {}
    task_id = headers.get("id") or (message.get("properties") or {}).get("correlation_id")
    return names.job_of_message(str(task_id)) if task_id else None
