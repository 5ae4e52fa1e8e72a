"""A Redis that survives losing its master, on loopback ports: a master, a replica and three
sentinels (quorum 2), for the fault tests and for `make sentinel`.

Sentinel rewrites its configuration file as it learns the topology, so each sentinel gets a file
of its own under `data_dir`. The timings are short (a master is "down" after two seconds) so a
failover takes seconds in a test; `DOWN_AFTER_MS` and `FAILOVER_TIMEOUT_MS` are the knobs, the
defaults a deployment uses are in docs/redis.md.

`python -m docqueue_devstack.sentinel [DIR]` runs one in the foreground, prints its
`redis+sentinel://` URL for `REDIS_URL`, and stops everything on Ctrl-C or SIGTERM.
"""

import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from docqueue_devstack.processes import Process, StopsOnExit, free_port, wait_until
from docqueue_devstack.redis_server import RedisServer, redis_server_binary

MASTER_NAME = "docqueue"
QUORUM = 2
# Two seconds: with one, a loaded 2-core CI machine saw a spurious second failover right after a
# real one (the new master's first PING reply came late).
DOWN_AFTER_MS = 2000
FAILOVER_TIMEOUT_MS = 5000


class SentinelProcess:
    """One `redis-server --sentinel` watching `MASTER_NAME`."""

    def __init__(
        self,
        data_dir: Path,
        master_port: int,
        password: str | None = None,
        own_password: str | None = None,
        down_after_ms: int = DOWN_AFTER_MS,
    ) -> None:
        self.data_dir = data_dir
        self.down_after_ms = down_after_ms
        self.port = free_port()
        self.master_port = master_port
        # The master's password, and the sentinel's own (`requirepass` of the sentinel).
        self.password = password
        self.own_password = own_password
        self.process: Process | None = None

    def config(self) -> str:
        lines = [
            f"port {self.port}",
            "bind 127.0.0.1",
            f'dir "{self.data_dir}"',
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.master_port} {QUORUM}",
            f"sentinel down-after-milliseconds {MASTER_NAME} {self.down_after_ms}",
            f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}",
            f"sentinel parallel-syncs {MASTER_NAME} 1",
        ]
        if self.password:
            lines.append(f"sentinel auth-pass {MASTER_NAME} {self.password}")
        if self.own_password:
            # Sentinels talk to each other with the same password.
            lines += [f"requirepass {self.own_password}", f"sentinel sentinel-pass {self.own_password}"]
        return "\n".join(lines) + "\n"

    def start(self) -> "SentinelProcess":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "sentinel.conf"
        if not conf.exists():  # a restarted sentinel keeps what it learnt
            conf.write_text(self.config())
        argv = [redis_server_binary(), str(conf), "--sentinel"]
        self.process = Process(f"sentinel-{self.port}", argv, {}, self.data_dir / "sentinel.log").start()
        if not wait_until(self.ping, timeout_s=15):
            raise RuntimeError(f"redis-sentinel did not start:\n{self.process.log_tail()}")
        return self

    def client(self) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            password=self.own_password,
            socket_connect_timeout=0.5,
            socket_timeout=2,
        )

    def ping(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def master_port_seen(self) -> int | None:
        try:
            reply: Any = self.client().execute_command(  # type: ignore[no-untyped-call]
                "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME
            )
        except redis.RedisError:
            return None
        return int(reply[1]) if reply else None

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout_s=5)


class SentinelCluster(StopsOnExit):
    """A master, a replica and three sentinels; `url` is what `REDIS_URL` takes."""

    def __init__(
        self,
        data_dir: Path,
        password: str | None = None,
        appendonly: bool = True,
        sentinel_password: str | None = None,
        down_after_ms: int = DOWN_AFTER_MS,
    ) -> None:
        self.data_dir = data_dir
        self.password = password
        self.sentinel_password = sentinel_password
        master = RedisServer(data_dir / "redis-a", appendonly=appendonly, password=password)
        replica = RedisServer(
            data_dir / "redis-b", appendonly=appendonly, password=password, replica_of=master.port
        )
        self.servers = [master, replica]
        self.sentinels = [
            SentinelProcess(
                data_dir / f"sentinel-{i}", master.port, password, sentinel_password, down_after_ms
            )
            for i in range(3)
        ]

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        hosts = ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in self.sentinels)
        return f"redis+sentinel://{auth}{hosts}/{MASTER_NAME}/0"

    def start(self) -> "SentinelCluster":
        for server in self.servers:
            server.start()
        if not wait_until(self.replica_in_sync, timeout_s=20):
            raise RuntimeError("the replica did not finish its first sync")
        for sentinel in self.sentinels:
            sentinel.start()
        # Every sentinel must know the replica and the other sentinels before a failover works.
        if not wait_until(self.sentinels_agree, timeout_s=30, interval_s=0.2):
            raise RuntimeError("the sentinels did not discover each other and the replica")
        return self

    def server_on(self, port: int) -> RedisServer:
        return next(server for server in self.servers if server.port == port)

    @property
    def master(self) -> RedisServer:
        """The server the sentinels name as master now."""
        port = self.master_port()
        if port is None:
            raise RuntimeError("no sentinel names a master")
        return self.server_on(port)

    def master_port(self) -> int | None:
        for sentinel in self.sentinels:
            port = sentinel.master_port_seen()
            if port is not None:
                return port
        return None

    def replica_in_sync(self) -> bool:
        """Every server but the master is a replica whose link to the master is up."""
        seen = 0
        for server in self.servers:
            try:
                info: Any = server.client().info("replication")
            except redis.RedisError:
                return False
            if info.get("role") == "slave":
                if info.get("master_link_status") != "up":
                    return False
                seen += 1
        return seen == len(self.servers) - 1

    def sentinels_agree(self) -> bool:
        for sentinel in self.sentinels:
            try:
                state: Any = sentinel.client().sentinel_master(MASTER_NAME)
            except redis.RedisError:
                return False
            if int(state["num-slaves"]) < 1 or int(state["num-other-sentinels"]) < 2:
                return False
        return True

    def settled(self) -> bool:
        """Every sentinel names the same master, it answers as one, and the rest replicate it."""
        ports = {sentinel.master_port_seen() for sentinel in self.sentinels}
        if len(ports) != 1 or None in ports:
            return False
        port = ports.pop()
        return port is not None and self.server_on(port).role() == "master" and self.replica_in_sync()

    def wait_failover(self, old_port: int, timeout_s: float = 60) -> int:
        """The port of the new master once every sentinel names one other than `old_port` and
        it answers as a master."""

        def moved() -> bool:
            ports = {sentinel.master_port_seen() for sentinel in self.sentinels}
            if len(ports) != 1 or old_port in ports or None in ports:
                return False
            return self.server_on(ports.pop() or 0).role() == "master"

        if not wait_until(moved, timeout_s=timeout_s, interval_s=0.1):
            seen = [sentinel.master_port_seen() for sentinel in self.sentinels]
            raise AssertionError(
                f"no failover away from {old_port} within {timeout_s}s: sentinels say {seen}"
            )
        port = self.master_port()
        assert port is not None
        return port

    def stop(self) -> None:
        for sentinel in self.sentinels:
            sentinel.stop()
        for server in self.servers:
            server.stop()


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="docqueue-sentinel-"))
    cluster = SentinelCluster(root).start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        print(f"master 127.0.0.1:{cluster.servers[0].port}, replica 127.0.0.1:{cluster.servers[1].port}")
        print(f"sentinels {', '.join(f'127.0.0.1:{s.port}' for s in cluster.sentinels)}; data in {root}")
        print(f"\n  REDIS_URL={cluster.url} make run\n\nCtrl-C stops them.", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
