"""Bearer API keys: resolve a key's digest to its tenant and scopes, with a short in-process cache."""

import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from docqueue.auth import ApiKey, Scope, hash_api_key, parse_api_key
from docqueue.jobs import keys

_CACHE_MAX = 10_000


@dataclass(frozen=True)
class Caller:
    """The authenticated client of a request."""

    tenant: str
    scopes: frozenset[Scope]
    key_hash: str

    def can(self, scope: Scope) -> bool:
        return scope in self.scopes


class KeyResolver:
    """Looks keys up by digest. The lookup never compares secrets, so its timing tells nothing."""

    def __init__(self, client: aioredis.Redis, cache_s: float) -> None:
        self.redis = client
        self.cache_s = cache_s
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}

    async def resolve(self, key: str) -> Caller | None:
        digest = hash_api_key(key)
        record = await self._lookup(digest)
        if record is None:
            return None
        return Caller(tenant=record.tenant, scopes=record.scopes, key_hash=digest)

    async def _lookup(self, digest: str) -> ApiKey | None:
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        raw = await self.redis.get(keys.api_key(digest))
        record = parse_api_key(raw) if raw else None
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[digest] = (now + self.cache_s, record)
        return record
