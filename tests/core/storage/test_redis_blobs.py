"""`redis://` specifics: expiry with the job, no keyspace scans, clean-up of abandoned writes."""

import uuid

import redis

from docqueue.jobs.keys import BLOB_PREFIX
from docqueue.storage import open_blob_store
from docqueue.storage.base import result_key, upload_key
from docqueue.storage.redis_blobs import PART_TTL_S, RedisBlobStore, task_index_key


def test_blobs_expire_with_the_ttl_they_were_written_with(redis_client: redis.Redis) -> None:
    store = RedisBlobStore(redis_client)
    task = uuid.uuid4().hex
    store.put(upload_key(task), b"data", ttl_s=120)
    store.put(result_key(task, uuid.uuid4().hex), b"{}", ttl_s=900)
    assert 100 < redis_client.ttl(f"{BLOB_PREFIX}{upload_key(task)}") <= 120
    # The index outlives every blob it lists, so purge_task can always find them.
    assert 880 < redis_client.ttl(task_index_key(task)) <= 900


def test_an_unfinished_write_expires_on_its_own(redis_client: redis.Redis) -> None:
    store = RedisBlobStore(redis_client)
    writer = store.writer(upload_key(uuid.uuid4().hex), ttl_s=600)
    writer.write(b"half an upload")
    parts = list(redis_client.scan_iter(match=f"{BLOB_PREFIX}part:*", count=1000))
    assert parts
    assert all(0 < redis_client.ttl(part) <= PART_TTL_S for part in parts)
    writer.abort()


def test_purge_removes_the_index_too(redis_client: redis.Redis) -> None:
    store = RedisBlobStore(redis_client)
    task = uuid.uuid4().hex
    store.put(upload_key(task), b"data", ttl_s=600)
    store.put(result_key(task, uuid.uuid4().hex), b"{}", ttl_s=600)
    store.purge_task(task)
    assert not redis_client.exists(task_index_key(task))
    assert not list(redis_client.scan_iter(match=f"{BLOB_PREFIX}*{task}*", count=1000))


def test_factory_picks_redis_for_redis_urls(redis_url: str) -> None:
    store = open_blob_store(redis_url)
    assert isinstance(store, RedisBlobStore)
    key = upload_key(uuid.uuid4().hex)
    store.put(key, b"through the factory", ttl_s=60)
    assert store.get(key) == b"through the factory"
