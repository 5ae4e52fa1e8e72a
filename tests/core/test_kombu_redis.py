"""docqueue's kombu Redis transport: the same messages on the same lists, one client per pool."""

import logging
import uuid

import pytest
import redis
from kombu import Connection

from docqueue.celery_app import celery_config, create_celery_app
from docqueue.kombu_redis import KOMBU_TRANSPORT, SENTINEL_TRANSPORT, TRANSPORT, Channel, transport
from docqueue.settings import Settings


def test_redis_brokers_use_it_and_other_schemes_are_left_alone() -> None:
    assert celery_config(Settings(redis_url="redis://r:6379/0"))["broker_transport"] == TRANSPORT
    assert celery_config(Settings(redis_url="rediss://r:6380/0"))["broker_transport"] == TRANSPORT
    sentinel = Settings(redis_url="redis+sentinel://s1:26379,s2:26379/docqueue/0")
    assert celery_config(sentinel)["broker_transport"] == SENTINEL_TRANSPORT


def test_one_client_per_pool_and_a_new_one_when_the_pool_is_replaced(redis_url: str) -> None:
    with Connection(redis_url, transport=TRANSPORT) as connection:
        channel = connection.default_channel
        assert isinstance(channel, Channel)
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second
            assert first.ping()
        channel._disconnect_pools()  # type: ignore[attr-defined]  # what kombu does after a fork
        with channel.conn_or_acquire() as third:
            assert third is not first
            assert third.connection_pool is channel.pool
            assert third.ping()
        given = redis.Redis.from_url(redis_url)
        with channel.conn_or_acquire(given) as passed:
            assert passed is given
        given.close()


def test_a_sent_task_lands_on_its_queue_list_as_kombu_writes_it(redis_url: str) -> None:
    app = create_celery_app(Settings(redis_url=redis_url))
    queue = f"kombu-redis-{uuid.uuid4().hex}"
    client = redis.Redis.from_url(redis_url)
    try:
        with app.connection_for_write() as connection:
            assert connection.transport_cls == TRANSPORT
            simple = connection.SimpleQueue(queue)
            simple.put({"hello": "world"})
            assert client.llen(queue) == 1
            message = simple.get(timeout=5)
            assert message.payload == {"hello": "world"}
            message.ack()
            simple.close()
    finally:
        client.delete(queue, f"_kombu.binding.{queue}")
        client.close()


def test_an_unknown_kombu_release_falls_back_to_kombus_own_transport(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert transport() == TRANSPORT, "the pinned kombu is one it was written for"
    with caplog.at_level(logging.WARNING, logger="docqueue.kombu_redis"):
        assert transport("6.0.1") == KOMBU_TRANSPORT
    assert "kombu 6.0.1 is not one docqueue's Redis transport was written for" in caplog.text
