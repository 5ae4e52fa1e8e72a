"""RedBeat, made to outlive a Redis outage.

RedBeat's tick extends its lock and reads the schedule from Redis; an outage, or a lock that
expired meanwhile, raises out of the tick and ends the beat service. Embedded in the maintenance
worker that would stop every schedule while the process looks healthy, so the tick here waits
out the outage and, if another replica took the lock meanwhile, stands by until it is free again.

The RedBeat reports this works around (open upstream when written): sibson/redbeat#230 ("Cannot
extend a lock that's no longer owned": the tick's `lock.extend` raises LockNotOwnedError and the
process exits), sibson/redbeat#285 (a Redis connection error during start-up leaves `self.lock`
None and the next tick raises AttributeError), and sibson/redbeat#129 (LockError on an expired
lock). Remove this class once a RedBeat release survives both in tests/faults/test_beat_faults.py.
"""

import logging
from typing import Any

import redis
from redbeat import RedBeatScheduler
from redis.exceptions import LockError

log = logging.getLogger(__name__)

# Seconds between two attempts while Redis is unreachable.
OUTAGE_RETRY_S = 2.0


class ResilientRedBeatScheduler(RedBeatScheduler):  # type: ignore[misc]
    """A RedBeat scheduler whose tick never raises on Redis outages or a lost lock."""

    def tick(self, *args: Any, **kwargs: Any) -> float:
        try:
            interval: float = super().tick(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning("beat: Redis unavailable (%s); retrying in %.0fs", exc, OUTAGE_RETRY_S)
            return OUTAGE_RETRY_S
        except LockError:
            # Our lock expired while Redis was away and another replica may hold it now:
            # wait for it like a standby replica does at start-up, then schedule again.
            log.warning("beat: lost the RedBeat lock; waiting to take it again")
            try:
                self.lock.acquire()
            except (redis.ConnectionError, redis.TimeoutError, LockError) as exc:
                log.warning("beat: could not take the lock yet (%s)", exc)
                return OUTAGE_RETRY_S
            log.info("beat: lock taken again")
            return 0.0
        return interval
