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

from celery.exceptions import SoftTimeLimitExceeded

from docqueue.errors import JobCancelled, LeaseLost
from docqueue.jobs.commands import Update, UpdateResult
from docqueue.jobs.model import JobState, Stage
from docqueue.jobs.store import JobStore

log = logging.getLogger(__name__)

_RUNNING = frozenset({JobState.RUNNING})


class LeaseObserver(Protocol):
    """Sees a run's stages, pages and end (metrics, trace spans, log fields). Must not raise."""

    def stage_entered(self, stage: Stage) -> None: ...

    def pages_done(self, pages_done: int, method: str = "text") -> None: ...

    def run_ended(self) -> None: ...


class RunLease:
    """Holds a job for one run; writes progress at most every `interval_s` and beats meanwhile.

    Stage and page changes are gathered and written together once `interval_s` has passed since
    the last write (the claim counts as one); the run's last write carries whatever is still
    gathered, and a heartbeat writes what is gathered too. A one-page document therefore costs two
    job writes (claim and end), not six; a long one shows each change within `interval_s` (or a
    heartbeat, when one page takes longer).
    """

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
        deadline: float | None = None,
        soft_limit_signalled: Callable[[], bool] | None = None,
    ) -> None:
        self.jobs = jobs
        self.task_id = task_id
        self.run_id = run_id
        self.interval_s = interval_s
        self.heartbeat_s = heartbeat_s
        self.clock = clock
        self.observer = observer
        # When the run must stop, as a time on `clock`: the soft time limit (the processor adds a
        # little grace). Celery raises SoftTimeLimitExceeded once, from a signal handler, wherever
        # the run happens to be; a library's `except Exception` (pypdf has many) can swallow it and
        # the run goes on to the hard kill. Checking it at every page and stage too makes the limit
        # end the run cleanly (a `timeout`) whatever swallowed it.
        self.deadline = deadline
        # True once Celery's soft-limit signal came, even if what it raised was swallowed.
        self.soft_limit_signalled = soft_limit_signalled
        self.pages_total = 0
        self._last_write = clock()  # the claim was just written
        self._pending: dict[str, object] = {}
        # Held for every write of this run, so the heartbeat's write never lands after the end's
        # and gathered fields are never lost between the two threads.
        self._writing = threading.Lock()
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
        """Enter a stage (written with the next write, see the class)."""
        self.check()
        with self._writing:
            self._pending["stage"] = stage
            if pages_total is not None:
                self.pages_total = pages_total
                self._pending["pages_total"] = pages_total
        if self.observer is not None:
            self.observer.stage_entered(stage)
        self._write_when_due()

    def page_done(self, pages_done: int, method: str = "text") -> None:
        """Report a finished page, read by `method` (written with the next write, see the class)."""
        self.check()
        with self._writing:
            self._pending["pages_done"] = pages_done
        if self.observer is not None:
            self.observer.pages_done(pages_done, method)
        self._write_when_due()

    def record(self, fields: dict[str, object]) -> None:
        """Write `fields` (with whatever is gathered) now: facts the rest of the run builds on,
        such as what a fetch stored."""
        self.check()
        with self._writing:
            self._write({**self._take_pending(), **fields})

    def check(self) -> None:
        """Raise if the heartbeat found the job cancelled or taken over, or the soft time limit
        has passed."""
        if self._lost is not None:
            raise self._lost
        if self.deadline is not None and self.clock() >= self.deadline:
            raise SoftTimeLimitExceeded("soft time limit passed (checked between pages)")
        if self.soft_limit_signalled is not None and self.soft_limit_signalled():
            raise SoftTimeLimitExceeded("soft time limit signalled (checked between pages)")

    def finish(self, update: Update) -> UpdateResult:
        """The run's last write (succeeded, failed, dead-lettered, retrying), under this lease,
        with the progress not written yet (the update's own fields win)."""
        self._stop.set()
        if self.observer is not None:
            self.observer.run_ended()
        with self._writing:
            return self.jobs.update(
                Update(
                    task_id=self.task_id,
                    now=self.clock(),
                    from_states=_RUNNING,
                    run_id=self.run_id,
                    set={**self._take_pending(), **update.set},
                    incr=update.incr,
                    unset=update.unset,
                    terminal=update.terminal,
                    history=update.history,
                    dead_letter=update.dead_letter,
                )
            )

    def _take_pending(self) -> dict[str, object]:
        fields, self._pending = self._pending, {}
        return fields

    def _write_when_due(self) -> None:
        with self._writing:
            if self._pending and self.clock() - self._last_write >= self.interval_s:
                self._write(self._take_pending())

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
                with self._writing:
                    fields = self._take_pending()
                    self._write(fields, event=bool(fields))
            except (JobCancelled, LeaseLost) as exc:
                self._lost = exc
                return
            except Exception:
                log.warning("heartbeat failed", exc_info=True, extra={"task_id": self.task_id})
