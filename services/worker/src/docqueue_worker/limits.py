"""Resource caps for the pool processes that parse untrusted files."""

import logging
import resource
import signal
import threading
from collections.abc import Callable
from types import FrameType

log = logging.getLogger(__name__)

MIB = 1024 * 1024


def cap_memory(max_memory_mb: int) -> None:
    """Cap this process's address space; allocations past it raise MemoryError in the task."""
    if max_memory_mb <= 0:
        return
    limit = max_memory_mb * MIB
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    log.info("pool process memory capped at %d MiB", limit // MIB)


_soft_limit_signals = 0


def soft_limit_signals() -> int:
    """How many soft-time-limit signals this pool process has received (see watch_soft_limit)."""
    return _soft_limit_signals


def watch_soft_limit() -> None:
    """Count Celery's soft-time-limit signal (SIGUSR1) before billiard's handler raises
    SoftTimeLimitExceeded: a library's `except Exception` (pypdf has many) can swallow the
    exception, never the count, so the run's lease still ends it as a timeout at the next page.

    Called at the start of every run: billiard installs its handler after worker_process_init,
    so that signal is too early. Only a pool process's main thread may set a handler; elsewhere
    (the threads pool, unit tests without billiard's handler) this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        return
    current = signal.getsignal(signal.SIGUSR1)
    if not callable(current) or getattr(current, "counts_soft_limits", False):
        return
    handler: Callable[[int, FrameType | None], object] = current

    def counting(signum: int, frame: FrameType | None) -> None:
        global _soft_limit_signals
        _soft_limit_signals += 1
        handler(signum, frame)

    counting.counts_soft_limits = True  # type: ignore[attr-defined]
    signal.signal(signal.SIGUSR1, counting)
