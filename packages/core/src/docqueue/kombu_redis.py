"""kombu's Redis transport with one redis-py client per channel, not one per command.

kombu's Redis channel builds a new `redis.Redis` for every command it sends outside a pipeline
(`Channel.conn_or_acquire`), and redis-py 8 fills ~170 response callbacks into each new client:
about 0.17 ms of CPU, three times per `send_task` (binding lookup, LPUSH, sent event) and again for
every task event and ack in the worker. Sharing one client per connection pool removes that and
nothing else: the client borrows a pooled connection per command as before (redis-py clients are
thread-safe), and when kombu replaces the pool (after a fork or a reconnect) a new client follows
it. Measured by bench/ (README "Performance").
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu.transport import redis as kombu_redis

# The `broker_transport` setting that selects this transport.
TRANSPORT = "docqueue.kombu_redis:Transport"


class Channel(kombu_redis.Channel):
    _command_client: Any = None

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


class Transport(kombu_redis.Transport):
    Channel = Channel
