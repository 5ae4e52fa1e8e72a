"""Start and stop child processes by PID. Each child leads its own process group, so stopping it
also stops whatever it forked (Celery's pool children) without ever matching processes by name.
A watchdog (`reaper.py`) stops every group still running when this process ends in any way, so
nothing outlives `make run` or a test run, even when they are killed."""

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Reaper:
    """The watchdog of this process's children: it holds the read end of a pipe that only this
    process writes to, and kills the groups it was told of when the pipe closes (see reaper.py)."""

    def __init__(self) -> None:
        read_fd, self._write_fd = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "docqueue_devstack.reaper"], stdin=read_fd, start_new_session=True
            )
        finally:
            os.close(read_fd)
        self._lock = threading.Lock()

    def tell(self, line: str) -> None:
        with self._lock, contextlib.suppress(OSError):
            os.write(self._write_fd, f"{line}\n".encode())

    def watch(self, pgid: int) -> None:
        self.tell(f"+{pgid}")

    def forget(self, pgid: int) -> None:
        self.tell(f"-{pgid}")

    def close(self) -> None:
        """At a normal exit: the reaper stops what is left and ends."""
        with self._lock, contextlib.suppress(OSError):
            os.close(self._write_fd)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=30)


_reapers: dict[int, Reaper] = {}
_reapers_lock = threading.Lock()


def reaper() -> Reaper:
    """This process's reaper, started with its first child (a forked process gets its own)."""
    with _reapers_lock:
        pid = os.getpid()
        if pid not in _reapers:
            _reapers[pid] = Reaper()
            atexit.register(_reapers[pid].close)
        return _reapers[pid]


class Process:
    """One child process with its log file."""

    def __init__(self, name: str, argv: Sequence[str], env: Mapping[str, str], log_path: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.log_path = log_path
        self.popen: subprocess.Popen[bytes] | None = None
        self.stopping = False
        self.restarts = 0

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was not started"
        return self.popen.pid

    def start(self) -> "Process":
        self.stopping = False
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        watchdog = reaper()
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        watchdog.watch(self.popen.pid)
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def send_signal(self, signum: int) -> None:
        if self.alive():
            os.kill(self.pid, signum)

    def wait(self, timeout_s: float) -> int | None:
        assert self.popen is not None
        try:
            return self.popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout_s: float = 15.0, signum: int = signal.SIGTERM) -> None:
        """Ask politely, then kill the whole group (the leader's PID is the group id)."""
        self.stopping = True
        if self.popen is None:
            return
        if self.alive():
            self.send_signal(signum)
            self.wait(timeout_s)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        self.wait(5)
        reaper().forget(self.pid)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Supervisor:
    """Restarts processes that exit without being asked to, as an orchestrator's restart policy
    would (Kubernetes restarts a crashed worker container)."""

    def __init__(self, interval_s: float = 0.5) -> None:
        self.interval_s = interval_s
        self.watched: list[Process] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, process: Process) -> None:
        self.watched.append(process)
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="devstack-supervisor", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            for process in list(self.watched):
                if not process.stopping and process.popen is not None and not process.alive():
                    # Reap what the dead leader left in its group before starting it again.
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(process.pid, signal.SIGKILL)
                    reaper().forget(process.pid)
                    process.restarts += 1
                    process.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class StopsOnExit:
    """`with Server(...).start() as server:` stops it on the way out, however the block ends."""

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def wait_until(predicate: Callable[[], bool], timeout_s: float, interval_s: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return predicate()


def http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code < 500
    except httpx.HTTPError:
        return False
