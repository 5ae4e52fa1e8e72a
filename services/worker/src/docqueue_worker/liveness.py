"""Worker liveness that means "still consuming", not merely "process exists".

A consumer bootstep touches a file from a timer on the consumer's event loop, and only while the
consumer is connected and subscribed to at least one queue. The file goes stale when the event
loop is blocked, when the broker connection is lost and the consumer is stuck reconnecting, or
when every queue was cancelled. The kubelet runs `python -m docqueue_worker.liveness` as an exec
probe; it exits 1 once the file is older than the allowed age.

The check is deliberately cheap: it imports nothing but the standard library, since the kubelet
starts it every probe period inside the pod's memory limit.
"""

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery import Celery

DEFAULT_FILE = "/tmp/docqueue-worker.alive"  # noqa: S108 - /tmp is the one writable path in the pod
DEFAULT_INTERVAL_S = 10.0
DEFAULT_MAX_AGE_S = 60.0


@dataclass(frozen=True)
class LivenessConfig:
    """`DOCQUEUE_LIVENESS_*`: where the heartbeat file is, how often it is touched, how old it may be."""

    path: Path
    interval_s: float
    max_age_s: float

    @classmethod
    def from_env(cls, env: "os._Environ[str] | dict[str, str]") -> "LivenessConfig":
        config = cls(
            path=Path(env.get("DOCQUEUE_LIVENESS_FILE", DEFAULT_FILE)),
            interval_s=float(env.get("DOCQUEUE_LIVENESS_INTERVAL_S", DEFAULT_INTERVAL_S)),
            max_age_s=float(env.get("DOCQUEUE_LIVENESS_MAX_AGE_S", DEFAULT_MAX_AGE_S)),
        )
        if not 0 < config.interval_s < config.max_age_s:
            raise ValueError(
                "DOCQUEUE_LIVENESS_INTERVAL_S must be positive and below DOCQUEUE_LIVENESS_MAX_AGE_S"
            )
        return config


def heartbeat_age_s(path: Path, now: float) -> float | None:
    """Seconds since the consumer last touched `path`; None when it never did."""
    try:
        return now - path.stat().st_mtime
    except FileNotFoundError:
        return None


def is_consuming(consumer: Any) -> bool:
    """The consumer holds a live connection and is subscribed to at least one queue."""
    connection = getattr(consumer, "connection", None)
    task_consumer = getattr(consumer, "task_consumer", None)
    return bool(connection is not None and connection.connected and task_consumer and task_consumer.queues)


def install_liveness(app: "Celery", config: LivenessConfig | None = None) -> None:
    """Add the heartbeat bootstep to `app`'s consumer (call before the worker starts)."""
    from celery import bootsteps

    settings = config or LivenessConfig.from_env(os.environ)

    class LivenessHeartbeat(bootsteps.StartStopStep):
        """Touches the liveness file from the consumer's event loop while it consumes."""

        # After the task consumer exists; the event loop step always starts last.
        requires = ("celery.worker.consumer.tasks:Tasks",)

        def __init__(self, parent: Any, **kwargs: Any) -> None:
            super().__init__(parent, **kwargs)
            self.entry: Any = None

        def start(self, parent: Any) -> None:
            settings.path.parent.mkdir(parents=True, exist_ok=True)
            self.entry = parent.timer.call_repeatedly(settings.interval_s, self.beat, (parent,), priority=10)
            self.beat(parent)

        def beat(self, parent: Any) -> None:
            if is_consuming(parent):
                settings.path.touch()

        def stop(self, parent: Any) -> None:
            # A restart (lost connection) stops the step: no touches until it consumes again.
            if self.entry is not None:
                parent.timer.cancel(self.entry)
                self.entry = None

        shutdown = stop

    app.steps["consumer"].add(LivenessHeartbeat)


def main() -> None:
    """The probe: exit 0 while the heartbeat is fresh, 1 when stale or missing."""
    config = LivenessConfig.from_env(os.environ)
    age_s = heartbeat_age_s(config.path, time.time())
    if age_s is None:
        sys.exit(f"not live: {config.path} was never written (the consumer has not started)")
    if age_s > config.max_age_s:
        sys.exit(f"not live: the consumer last beat {age_s:.0f}s ago (limit {config.max_age_s:g}s)")


if __name__ == "__main__":
    main()
