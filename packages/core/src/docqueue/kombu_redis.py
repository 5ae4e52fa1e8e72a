"""kombu's Redis transport with one redis-py client per channel, not one per command.

kombu's Redis channel builds a new `redis.Redis` for every command it sends outside a pipeline
(`Channel.conn_or_acquire`), and redis-py 8 fills ~170 response callbacks into each new client:
about 0.17 ms of CPU, three times per `send_task` (binding lookup, LPUSH, sent event) and again for
every task event and ack in the worker. Sharing one client per connection pool removes that and
nothing else: the client borrows a pooled connection per command as before (redis-py clients are
thread-safe), and when kombu replaces the pool (after a fork or a reconnect) a new client follows
it. Measured by bench/ (docs/performance.md). The change proposed upstream is in
docs/development.md ("Upstream").

The override replaces one method of kombu's channel, so it is used only on the kombu releases it
was read against (`KOMBU_RELEASES`); on any other, kombu's own transport is used and a warning says
so, rather than guessing at a method that may have changed.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version as installed_version
from typing import Any

import redis
from kombu.transport import redis as kombu_redis

log = logging.getLogger(__name__)

# The `broker_transport` setting that selects this transport, and kombu's own.
TRANSPORT = "docqueue.kombu_redis:Transport"
KOMBU_TRANSPORT = "redis"
# The same for a master found through Sentinel.
SENTINEL_TRANSPORT = "docqueue.kombu_redis:SentinelTransport"
KOMBU_SENTINEL_TRANSPORT = "sentinel"
# Releases whose `Channel.conn_or_acquire` yields `self._create_client()` per call, as read.
KOMBU_RELEASES = frozenset({"5.5", "5.6", "5.7"})


def transport(version: str | None = None, sentinel: bool = False) -> str:
    """This transport on a kombu release it was written for, else kombu's own."""
    version = version or installed_version("kombu")
    release = ".".join(version.split(".")[:2])
    if release in KOMBU_RELEASES:
        return SENTINEL_TRANSPORT if sentinel else TRANSPORT
    log.warning(
        "kombu %s is not one docqueue's Redis transport was written for (%s): using kombu's own",
        version,
        ", ".join(sorted(KOMBU_RELEASES)),
    )
    return KOMBU_SENTINEL_TRANSPORT if sentinel else KOMBU_TRANSPORT


class BrokerDetached(redis.ConnectionError):
    """The channel outlived its connection: kombu detached the transport before closing it."""


class _SharedCommandClient:
    """The overrides, for kombu's Redis channel and its Sentinel channel alike."""

    _command_client: Any = None
    pool: Any
    connection: Any

    def _connparams(self, asynchronous: bool = False) -> Any:
        # When the broker connection drops, Celery's consumer closes the kombu connection, whose
        # transport is already detached (`transport.client` is None); closing the channel then
        # restores the unacked messages, which needs a new pool, whose parameters kombu reads
        # from that missing client: AttributeError. It is not a connection error, so
        # `Connection.maybe_close_channel` does not swallow it and the worker dies with
        # "Unrecoverable error" instead of reconnecting (reproduced with kombu 5.7.0 and
        # Celery 5.7.0 in tests/faults/test_redis_faults.py; celery/kombu#582, closed in 2016,
        # reported the same AttributeError from another close path). Saying what it is, a broker we
        # cannot reach, lets kombu ignore it and Celery reconnect; the messages stay in the
        # broker's `unacked` hash, where kombu's visibility timeout and beat's reconciler find
        # them, exactly as if Redis had refused the restore.
        if self.connection.client is None:
            raise BrokerDetached("the broker connection is closed; unacked messages stay in Redis")
        return super()._connparams(asynchronous)  # type: ignore[misc]

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        if client:
            yield client
            return
        pool = self.pool
        shared = self._command_client
        if shared is None or shared.connection_pool is not pool:
            shared = self._command_client = self._create_client()  # type: ignore[attr-defined]
        yield shared


class Channel(_SharedCommandClient, kombu_redis.Channel):
    pass


class SentinelChannel(_SharedCommandClient, kombu_redis.SentinelChannel):
    pass


class Transport(kombu_redis.Transport):
    Channel = Channel


class SentinelTransport(kombu_redis.SentinelTransport):
    Channel = SentinelChannel
