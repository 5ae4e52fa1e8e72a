"""A soft time limit that a library swallowed is still seen (limits.watch_soft_limit)."""

import os
import signal
from collections.abc import Iterator
from types import FrameType

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from docqueue_worker.limits import soft_limit_signals, watch_soft_limit


@pytest.fixture
def billiard_like_handler() -> Iterator[None]:
    """What billiard installs in a pool process: SIGUSR1 raises SoftTimeLimitExceeded."""

    def raise_soft_limit(signum: int, frame: FrameType | None) -> None:
        raise SoftTimeLimitExceeded()

    previous = signal.signal(signal.SIGUSR1, raise_soft_limit)
    try:
        yield
    finally:
        signal.signal(signal.SIGUSR1, previous)


@pytest.mark.usefixtures("billiard_like_handler")
def test_a_swallowed_soft_limit_is_counted_and_still_raises() -> None:
    watch_soft_limit()
    watch_soft_limit()  # idempotent: one wrapper, one count per signal
    before = soft_limit_signals()
    swallowed = False
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
    except Exception:  # as pypdf's broad handlers do
        swallowed = True
    assert swallowed, "the handler still raises SoftTimeLimitExceeded"
    assert soft_limit_signals() == before + 1


def test_without_billiards_handler_nothing_is_installed() -> None:
    previous = signal.signal(signal.SIGUSR1, signal.SIG_DFL)
    try:
        watch_soft_limit()
        assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL
    finally:
        signal.signal(signal.SIGUSR1, previous)
