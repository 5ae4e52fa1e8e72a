"""A running job's lease: progress writes, heartbeats and the checks that stop a run early.

Every write is a compare-and-set on (state=running, run_id), so a run that was cancelled, or whose
job was taken over by another delivery, learns it at its next write and stops without writing.
"""

import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self

from docqueue.errors import JobCancelled, LeaseLost
from docqueue.jobs.commands import Update, UpdateResult
from docqueue.jobs.model import JobState, Stage
from docqueue.jobs.store import JobStore

log = logging.getLogger(__name__)

_RUNNING = frozenset({JobState.RUNNING})


class LeaseObserver(Protocol):
    """Sees a run's stages, pages and end (metrics, trace spans, log fields). Must not raise."""

    def stage_entered(self, stage: Stage) -> None: ...

    def pages_done(self, pages_done: int) -> None: ...

    def run_ended(self) -> None: ...


class RunLease:
    """Holds a job for one run; writes progress at most every `interval_s` and beats meanwhile."""

    def __init__(
        self,
        jobs: JobStore,
        task_id: str,
        run_id: str,
        *,
        interval_s: float,
        heartbeat_s: float,
        clock: Callable[[], float] = time.time,
        observer: LeaseObserver | None = None,
    ) -> None:
        self.jobs = jobs
        self.task_id = task_id
        self.run_id = run_id
        self.interval_s = interval_s
        self.heartbeat_s = heartbeat_s
        self.clock = clock
        self.observer = observer
        self.pages_total = 0
        self._last_write = 0.0
        self._lost: Exception | None = None
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._beat_loop, name="docqueue-heartbeat", daemon=True)

    def __enter__(self) -> Self:
        self._beat.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._beat.join(timeout=self.heartbeat_s)
        if self.observer is not None:
            self.observer.run_ended()

    def stage(self, stage: Stage, pages_total: int | None = None) -> None:
        """Enter a stage; always written, so watchers see every stage."""
        fields: dict[str, object] = {"stage": stage}
        if pages_total is not None:
            self.pages_total = pages_total
            fields["pages_total"] = pages_total
        self._write(fields)
        if self.observer is not None:
            self.observer.stage_entered(stage)

    def page_done(self, pages_done: int) -> None:
        """Report a finished page; written when `interval_s` has passed or on the last page."""
        self.check()
        if self.observer is not None:
            self.observer.pages_done(pages_done)
        now = self.clock()
        if pages_done >= self.pages_total or now - self._last_write >= self.interval_s:
            self._write({"pages_done": pages_done})

    def check(self) -> None:
        """Raise if the heartbeat found the job cancelled or taken over."""
        if self._lost is not None:
            raise self._lost

    def finish(self, update: Update) -> UpdateResult:
        """The run's last write (succeeded, failed, dead-lettered, retrying), under this lease."""
        self._stop.set()
        if self.observer is not None:
            self.observer.run_ended()
        return self.jobs.update(
            Update(
                task_id=self.task_id,
                now=self.clock(),
                from_states=_RUNNING,
                run_id=self.run_id,
                set=update.set,
                incr=update.incr,
                unset=update.unset,
                terminal=update.terminal,
                history=update.history,
                dead_letter=update.dead_letter,
            )
        )

    def _write(self, fields: dict[str, object], event: bool = True) -> None:
        now = self.clock()
        result = self.jobs.update(
            Update(
                task_id=self.task_id,
                now=now,
                from_states=_RUNNING,
                run_id=self.run_id,
                set=fields,
                event=event,
            )
        )
        self._last_write = now
        if not result.ok:
            raise self._lost_reason(result)

    def _lost_reason(self, result: UpdateResult) -> Exception:
        if result.job is not None and result.job.state == JobState.CANCELLED:
            return JobCancelled(self.task_id)
        return LeaseLost(self.task_id)

    def _beat_loop(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                self._write({}, event=False)
            except (JobCancelled, LeaseLost) as exc:
                self._lost = exc
                return
            except Exception:
                log.warning("heartbeat failed", exc_info=True, extra={"task_id": self.task_id})
