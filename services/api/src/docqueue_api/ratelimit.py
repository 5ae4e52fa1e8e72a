"""Per-tenant request rate limit: GCRA in Redis, so every API replica shares one budget per tenant.

GCRA (the generic cell rate algorithm) keeps one timestamp per tenant: the theoretical arrival time
of the next request. A request is allowed while that time is no further ahead of now than the burst
allows; otherwise the answer says exactly when to come back. Redis's own clock is used, so replicas
with skewed clocks agree.
"""

import math
from dataclasses import dataclass

import redis.asyncio as aioredis

from docqueue.jobs import keys

# KEYS[1] the tenant's TAT (ms); ARGV[1] ms between requests at the sustained rate; ARGV[2] burst.
# Returns {allowed (1/0), ms until a request would be allowed}.
_GCRA = """
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat + interval - burst * interval
if allow_at > now then
  return {0, allow_at - now}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', math.max(1, new_tat - now))
return {1, 0}
"""


def rate_key(tenant: str) -> str:
    return keys.rate_limit(tenant)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: int


class RateLimiter:
    """`per_s` requests per second sustained, `burst` at once; `per_s == 0` disables the limit."""

    def __init__(self, client: aioredis.Redis, per_s: float, burst: int) -> None:
        self.per_s = per_s
        self.burst = burst
        self._script = client.register_script(_GCRA)

    async def check(self, tenant: str) -> Verdict:
        if self.per_s <= 0:
            return Verdict(True, 0)
        interval_ms = max(1, round(1000 / self.per_s))
        allowed, wait_ms = await self._script(keys=[rate_key(tenant)], args=[interval_ms, self.burst])
        return Verdict(bool(allowed), max(1, math.ceil(int(wait_ms) / 1000)) if not allowed else 0)
