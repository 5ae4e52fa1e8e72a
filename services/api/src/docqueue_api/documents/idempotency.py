"""`Idempotency-Key`: the first answer for a key is the answer for every retry of that request."""

import hashlib
import json
from dataclasses import dataclass

import redis.asyncio as aioredis

from docqueue.errors import ProblemCode
from docqueue.jobs import keys
from docqueue_api.problems import ProblemError

MAX_KEY_CHARS = 255
# How long a request may hold a key before another request with it is let through.
PENDING_TTL_S = 60


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    body: dict[str, object]


class IdempotencyKeys:
    """One request per (tenant, key) at a time; the finished answer is replayed for `ttl_s`."""

    def __init__(self, client: aioredis.Redis, ttl_s: int) -> None:
        self.redis = client
        self.ttl_s = ttl_s

    @staticmethod
    def check_key(key: str) -> None:
        if not key or len(key) > MAX_KEY_CHARS or not key.isprintable():
            raise ProblemError(
                400,
                ProblemCode.INVALID_IDEMPOTENCY_KEY,
                f"Idempotency-Key must be 1-{MAX_KEY_CHARS} printable characters",
            )

    async def begin(self, tenant: str, key: str, fingerprint: str) -> StoredAnswer | None:
        """Reserve `key`; return the stored answer if the same request already completed."""
        name = self._name(tenant, key)
        reserved = await self.redis.set(
            name, json.dumps({"fingerprint": fingerprint}), nx=True, ex=PENDING_TTL_S
        )
        if reserved:
            return None
        raw = await self.redis.get(name)
        if raw is None:  # expired between the two calls: the earlier request is gone
            return await self.begin(tenant, key, fingerprint)
        record = json.loads(raw)
        if record["fingerprint"] != fingerprint:
            raise ProblemError(
                422,
                ProblemCode.IDEMPOTENCY_KEY_REUSED,
                "this Idempotency-Key was used for a different request",
            )
        if "status" not in record:
            raise ProblemError(
                409,
                ProblemCode.IDEMPOTENCY_IN_PROGRESS,
                "a request with this Idempotency-Key is in progress",
                headers={"Retry-After": "1"},
            )
        return StoredAnswer(status=record["status"], body=record["body"])

    async def complete(self, tenant: str, key: str, fingerprint: str, answer: StoredAnswer) -> None:
        record = {"fingerprint": fingerprint, "status": answer.status, "body": answer.body}
        await self.redis.set(self._name(tenant, key), json.dumps(record), ex=self.ttl_s)

    async def release(self, tenant: str, key: str) -> None:
        await self.redis.delete(self._name(tenant, key))

    @staticmethod
    def _name(tenant: str, key: str) -> str:
        return keys.idempotency(tenant, hashlib.sha256(key.encode()).hexdigest())
