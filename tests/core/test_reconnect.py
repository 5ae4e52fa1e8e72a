"""Clients that outlive their Redis: after a restart the next command runs on a new connection
instead of failing once per pooled connection; a creation sent twice is one creation."""

import asyncio
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from docqueue.jobs import keys
from docqueue.jobs.async_store import AsyncJobStore
from docqueue.redis_url import async_redis_client, redis_client
from docqueue_devstack.redis_server import RedisServer
from tests.support.held_jobs import new_job


def test_a_client_survives_a_redis_restart_without_an_error(tmp_path: Path) -> None:
    with RedisServer(tmp_path / "redis").start() as server:
        client = redis_client(server.url, socket_timeout=5, socket_connect_timeout=2)
        aclient = async_redis_client(server.url, socket_timeout=5, socket_connect_timeout=2)

        async def use() -> bytes | None:
            await aclient.set("k-async", "1")
            value: bytes | None = await aclient.get("k-async")  # type: ignore[assignment]
            return value

        loop = asyncio.new_event_loop()
        try:
            client.set("k", "1")
            assert loop.run_until_complete(use()) == b"1"
            server.restart()  # every pooled connection is now dead
            assert client.get("k") == b"1"
            assert loop.run_until_complete(use()) == b"1"
            loop.run_until_complete(aclient.aclose())
        finally:
            loop.close()


def test_without_our_retry_the_first_async_command_after_a_restart_fails(tmp_path: Path) -> None:
    """The behaviour the retry exists for: redis-py 8's asyncio `from_url` does not retry (its
    blocking client does), so the API answered one 503 per pooled connection after a restart."""

    async def first_command_after_a_restart(server: RedisServer) -> None:
        plain = aioredis.Redis.from_url(server.url, socket_timeout=5)
        await plain.set("k", "1")
        server.restart()
        try:
            with pytest.raises(redis.ConnectionError):
                await plain.get("k")
        finally:
            await plain.aclose()

    with RedisServer(tmp_path / "redis").start() as server:
        asyncio.run(first_command_after_a_restart(server))


def test_a_creation_sent_twice_is_one_creation(redis_url: str) -> None:
    job = new_job("retry")

    async def create_twice() -> list[str | None]:
        client = aioredis.Redis.from_url(redis_url)
        try:
            jobs = AsyncJobStore(client, retention_s=3600)
            return [await jobs.create(job), await jobs.create(job)]
        finally:
            await client.aclose()

    # Both "created": the second is not "an existing job with the same fingerprint" (whose
    # answer would have deleted this job's own upload).
    assert asyncio.run(create_twice()) == [None, None]
    assert len(redis.Redis.from_url(redis_url).lrange(keys.job_history(job.task_id), 0, -1)) == 1
