"""`redis://` (and `rediss://`) blobs: kept in Redis beside the jobs and expiring with them.

Works in any cluster with nothing but the Redis the stack already runs; sized for moderate
documents (every blob counts against Redis memory, and the chart's Redis never evicts).
"""

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any, BinaryIO, cast

import redis

from docqueue.jobs import keys
from docqueue.redis_url import redis_client
from docqueue.storage.base import BlobNotFound, StorageError, check_key, parts_prefix, upload_key
from docqueue.storage.spool import READ_CHUNK_BYTES, spool
from docqueue.text import as_text

# A write that is never committed (the process died mid-upload) removes itself after this long.
PART_TTL_S = 3600

# Publish a finished write: rename the part into place (or create an empty blob when nothing was
# written), set its expiry, and record it in the task's index so `purge_task` finds every run's
# result without scanning the keyspace. The index lives as long as its longest-lived blob.
_COMMIT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('RENAME', KEYS[1], KEYS[2])
else
  redis.call('SET', KEYS[2], '')
end
local ttl = tonumber(ARGV[1])
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('SADD', KEYS[3], KEYS[2])
if redis.call('TTL', KEYS[3]) < ttl then
  redis.call('EXPIRE', KEYS[3], ttl)
end
return 1
"""


def blob_redis_key(key: str) -> str:
    return keys.blob(check_key(key))


def task_index_key(task_id: str) -> str:
    return keys.blob_task_index(task_id)


def task_of(key: str) -> str:
    """`uploads/<id>` and `results/<id>/<run>.json` both belong to task `<id>`."""
    return check_key(key).split("/")[1]


class RedisBlobWriter:
    """Appends each chunk to a private part key; `commit` renames it into place atomically."""

    def __init__(self, store: "RedisBlobStore", key: str, ttl_s: int) -> None:
        self._store = store
        self._key = key
        self._ttl_s = ttl_s
        self._part = keys.blob_unfinished(uuid.uuid4().hex)

    def write(self, data: bytes) -> None:
        try:
            with self._store.client.pipeline(transaction=False) as pipe:
                pipe.append(self._part, data)
                pipe.expire(self._part, PART_TTL_S)
                pipe.execute()
        except redis.RedisError as exc:
            self.abort()
            raise StorageError(f"cannot write blob: {exc}") from exc

    def commit(self) -> None:
        keys = [self._part, blob_redis_key(self._key), task_index_key(task_of(self._key))]
        try:
            self._store.commit_script(keys=keys, args=[max(1, self._ttl_s)])
        except redis.RedisError as exc:
            self.abort()
            raise StorageError(f"cannot write blob: {exc}") from exc

    def abort(self) -> None:
        # On failure the part expires on its own after PART_TTL_S.
        with contextlib.suppress(redis.RedisError):
            self._store.client.delete(self._part)


class RedisBlobStore:
    """Blobs as Redis strings under `docqueue:blob:<key>`, each with its job's expiry."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.commit_script: Any = client.register_script(_COMMIT)

    @classmethod
    def from_url(cls, url: str, sentinel_password: str | None = None) -> "RedisBlobStore":
        client = redis_client(
            url, sentinel_password, socket_timeout=10, socket_connect_timeout=5, health_check_interval=25
        )
        return cls(client)

    def writer(self, key: str, ttl_s: int) -> RedisBlobWriter:
        check_key(key)
        return RedisBlobWriter(self, key, ttl_s)

    def put(self, key: str, data: bytes, ttl_s: int) -> None:
        writer = self.writer(key, ttl_s)
        writer.write(data)
        writer.commit()

    def _size(self, key: str) -> int:
        try:
            with self.client.pipeline(transaction=False) as pipe:
                pipe.exists(blob_redis_key(key))
                pipe.strlen(blob_redis_key(key))
                exists, size = pipe.execute()
        except redis.RedisError as exc:
            raise StorageError(f"cannot read blob: {exc}") from exc
        if not exists:
            raise BlobNotFound(key)
        return int(size)

    def _chunks(self, key: str, size: int) -> Iterator[bytes]:
        # Ranged reads keep each Redis reply small, so one large blob never blocks Redis for long.
        name = blob_redis_key(key)
        for start in range(0, size, READ_CHUNK_BYTES):
            try:
                # The client never decodes responses: a range is bytes.
                chunk = cast(
                    bytes, self.client.getrange(name, start, min(size, start + READ_CHUNK_BYTES) - 1)
                )
            except redis.RedisError as exc:
                raise StorageError(f"cannot read blob: {exc}") from exc
            if not chunk:
                raise BlobNotFound(key)  # expired or purged while being read
            yield chunk

    def open(self, key: str) -> BinaryIO:
        return spool(self._chunks(key, self._size(key)))

    def get(self, key: str) -> bytes:
        with self.open(key) as handle:
            return handle.read()

    def delete(self, key: str) -> None:
        try:
            with self.client.pipeline(transaction=False) as pipe:
                pipe.delete(blob_redis_key(key))
                pipe.srem(task_index_key(task_of(key)), blob_redis_key(key))
                pipe.execute()
        except redis.RedisError as exc:
            raise StorageError(f"cannot delete blob: {exc}") from exc

    def exists(self, key: str) -> bool:
        try:
            return bool(self.client.exists(blob_redis_key(key)))
        except redis.RedisError as exc:
            raise StorageError(f"cannot read blob: {exc}") from exc

    def purge_task(self, task_id: str) -> None:
        index = task_index_key(task_id)
        try:
            members = self.client.smembers(index)
            self.client.delete(blob_redis_key(upload_key(task_id)), *members, index)
        except redis.RedisError as exc:
            raise StorageError(f"cannot delete blobs: {exc}") from exc

    def delete_parts(self, task_id: str) -> None:
        index = task_index_key(task_id)
        prefix = keys.blob(parts_prefix(task_id))
        try:
            members: set[Any] = self.client.smembers(index)
            parts = [member for member in members if as_text(member).startswith(prefix)]
            if parts:
                with self.client.pipeline(transaction=False) as pipe:
                    pipe.delete(*parts)
                    pipe.srem(index, *parts)
                    pipe.execute()
        except redis.RedisError as exc:
            raise StorageError(f"cannot delete blobs: {exc}") from exc
