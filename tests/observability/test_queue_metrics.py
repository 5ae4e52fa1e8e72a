"""The queue gauges read from a real Redis: depth over Celery's priority lists, the age of the
oldest message (its publish stamp, else its job's upload time), dead letters, Redis down."""

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from docqueue.jobs import keys
from docqueue.metrics_queues import SENT_AT_HEADER, QueueCollector, queue_lists, read_queues, sent_at
from docqueue_devstack.processes import free_port
from docqueue_devstack.redis_server import RedisServer

NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis.Redis]:
    # A Redis of its own: the dead-letter stream is one key for everyone.
    with RedisServer(tmp_path_factory.mktemp("queue-metrics"), appendonly=False).start() as server:
        yield redis.Redis.from_url(server.url)


def message(task_id: str, stamped_at: float | None) -> str:
    headers: dict[str, object] = {"id": task_id, "task": "documents.process"}
    if stamped_at is not None:
        headers[SENT_AT_HEADER] = stamped_at
    return json.dumps({"body": "", "headers": headers, "properties": {"priority": 0}})


def scrape(collector: QueueCollector) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_priority_lists_are_kombus() -> None:
    assert queue_lists("documents") == [
        "documents",
        "documents\x06\x163",
        "documents\x06\x166",
        "documents\x06\x169",
    ]


def test_depth_counts_every_priority_list_and_age_is_the_oldest_tail(client: redis.Redis) -> None:
    queue = f"q-{uuid.uuid4().hex[:8]}"
    base, high, _, highest = queue_lists(queue)
    # LPUSH adds at the head; the tail (index -1) is the oldest, as kombu's BRPOP takes it.
    client.lpush(base, message("a", NOW - 30), message("b", NOW - 5))
    client.lpush(high, message("c", NOW - 90))
    client.lpush(highest, message("d", NOW - 1), message("e", NOW))
    snapshot = read_queues(client, client, [queue], NOW)
    assert snapshot.redis_up
    assert snapshot.depth == {queue: 5}
    assert snapshot.oldest_age_s == {queue: 90.0}


def test_a_message_without_a_stamp_is_as_old_as_its_job(client: redis.Redis) -> None:
    queue = f"q-{uuid.uuid4().hex[:8]}"
    task_id = uuid.uuid4().hex
    client.hset(keys.job(task_id), mapping={"created_at": str(NOW - 42)})
    client.lpush(queue, message(task_id, None))
    other = f"q-{uuid.uuid4().hex[:8]}"
    client.lpush(other, message(uuid.uuid4().hex, None))  # no stamp and no job: age unknown, 0
    snapshot = read_queues(client, client, [queue, other], NOW)
    assert snapshot.oldest_age_s == {queue: 42.0, other: 0.0}
    assert snapshot.depth == {queue: 1, other: 1}


def test_an_empty_queue_is_zero_deep_and_zero_old(client: redis.Redis) -> None:
    queue = f"q-{uuid.uuid4().hex[:8]}"
    assert read_queues(client, client, [queue], NOW).depth == {queue: 0}
    assert read_queues(client, client, [queue], NOW).oldest_age_s == {queue: 0.0}


def test_the_collector_serves_gauges_and_caches_them(client: redis.Redis) -> None:
    queue = f"q-{uuid.uuid4().hex[:8]}"
    client.lpush(queue, message("a", NOW - 10))
    client.xadd(keys.DEAD_LETTERS, {"task_id": "x"})
    dead = client.xlen(keys.DEAD_LETTERS)
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    client.hset(keys.TENANT_PAGES_IN_FLIGHT, tenant, 7)
    now = [NOW]
    collector = QueueCollector(client, client, [queue], cache_s=1.0, clock=lambda: now[0])
    values = scrape(collector)
    assert values[("docqueue_redis_up", ())] == 1.0
    assert values[("docqueue_queue_depth", (("queue", queue),))] == 1.0
    assert values[("docqueue_queue_oldest_age_seconds", (("queue", queue),))] == 10.0
    assert values[("docqueue_dead_letter_entries", ())] == dead
    in_flight = sum(max(0, int(v)) for v in client.hvals(keys.TENANT_PAGES_IN_FLIGHT))
    assert in_flight >= 7
    assert values[("docqueue_pages_in_flight", ())] == in_flight
    client.hdel(keys.TENANT_PAGES_IN_FLIGHT, tenant)
    client.lpush(queue, message("b", NOW))
    assert collector.snapshot().depth == {queue: 1}  # within cache_s: no new read
    now[0] += 1.5
    assert collector.snapshot().depth == {queue: 2}


def test_redis_down_reports_down_and_no_stale_numbers(tmp_path: Path) -> None:
    down = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5, socket_timeout=0.5)
    values = scrape(QueueCollector(down, down, ["documents"]))
    assert values == {("docqueue_redis_up", ()): 0.0}


def test_sent_at_reads_the_stamp_and_the_id_and_tolerates_garbage() -> None:
    assert sent_at(message("a", 12.5)) == (12.5, "a")
    assert sent_at(message("a", None)) == (None, "a")
    assert sent_at(b"not json") == (None, None)
    assert sent_at(None) == (None, None)
