"""One delivery of `documents.process`: claim the job, run the pipeline, record the outcome.

The Celery task only calls `DocumentProcessor.process`; this module holds the decisions (what is
retried, what is dead-lettered, who may write) and the pipeline holds the work.
"""

import logging
import os
import socket
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from celery.exceptions import SoftTimeLimitExceeded

from docqueue import names
from docqueue.backoff import equal_jitter_s
from docqueue.dead_letters import dead_letter_fields
from docqueue.errors import DocumentError, ErrorCode, JobCancelled, LeaseLost, TransientError
from docqueue.jobs import parts
from docqueue.jobs.commands import Update
from docqueue.jobs.model import Job, JobState, Stage
from docqueue.jobs.parts import part_size
from docqueue.jobs.store import JobStore
from docqueue.settings import Settings
from docqueue.storage import BlobStore
from docqueue.storage.base import StorageError, result_key
from docqueue_worker.lease import LeaseObserver, RunLease
from docqueue_worker.limits import soft_limit_signals, watch_soft_limit
from docqueue_worker.pipeline.fetch import SourceFetcher, s3_client_of
from docqueue_worker.pipeline.run import SplitDocument, Stored, assemble, run_pipeline

log = logging.getLogger(__name__)

# Failures worth another attempt: the infrastructure hiccupped, the document did nothing wrong.
TRANSIENT_ERRORS = (TransientError, redis.ConnectionError, redis.TimeoutError, ConnectionError)
# How long after the soft time limit the lease's own check ends a run whose Celery signal was
# swallowed (pypdf catches broad exceptions) or has not arrived yet (the pool's timer starts when the
# main process sees the job accepted, which lags under load).
SOFT_LIMIT_GRACE_S = 1.0


@dataclass(frozen=True)
class Outcome:
    """What the Celery task must do after this delivery: nothing, or deliver again later."""

    retry_in_s: float | None = None


DONE = Outcome()


class DocumentProcessor:
    """Processes one job per call; safe to call again for the same job (at-least-once delivery)."""

    def __init__(
        self,
        jobs: JobStore,
        blobs: BlobStore,
        settings: Settings,
        clock: Callable[[], float] = time.time,
        on_terminal: Sequence[Callable[[Job], None]] = (),
        run_observer: Callable[[Job], LeaseObserver] | None = None,
        publish_part: Callable[[str, str, int], None] | None = None,
        fetcher: SourceFetcher | None = None,
    ) -> None:
        self.jobs = jobs
        self.blobs = blobs
        self.settings = settings
        self.clock = clock
        # Called with the job's final record after every terminal transition this worker makes
        # (webhooks, metrics); a listener's failure is logged and never changes the outcome.
        self.on_terminal = tuple(on_terminal)
        # Makes the observer of each run's lease (stage metrics, spans, log fields).
        self.run_observer = run_observer
        # Sends one part of a split document (task id, split run, index); None: never split.
        self.publish_part = publish_part
        # Fetches a `source_url` job's document into the blob store before it is read.
        self.fetcher = fetcher or SourceFetcher(blobs, settings, s3_client=s3_client_of(blobs))
        self.holder = f"{socket.gethostname()}:{os.getpid()}"

    def process(self, task_id: str) -> Outcome:
        job = self.jobs.get(task_id)
        if job is None or job.is_terminal:
            # Cancelled before it ran, finished by an earlier delivery, or expired: nothing to do.
            log.info("skipping delivery", extra={"task_id": task_id, "state": job and job.state})
            return DONE
        if job.state == JobState.RUNNING and lease_held(
            job.updated_at, job.holder, self.clock(), self.settings.lease_s
        ):
            wait_s = max(1.0, job.updated_at + self.settings.lease_s - self.clock())
            log.warning("job is held by a live run; delivering again later", extra={"task_id": task_id})
            return Outcome(retry_in_s=wait_s)
        if job.attempts >= self.settings.max_attempts:
            # Poison cap: every delivery counted; this one is past it, so it never runs again.
            message = f"delivered {job.attempts} times without finishing (a crash or kill each time)"
            self._give_up(job, ErrorCode.WORKER_LOST, message, "", run_id=job.run_id)
            return DONE
        run_id = uuid.uuid4().hex
        claimed = self.jobs.update(
            Update(
                task_id=task_id,
                now=self.clock(),
                from_states={job.state},
                run_id=job.run_id if job.state == JobState.RUNNING else None,
                set={
                    "state": JobState.RUNNING,
                    "stage": Stage.EXTRACTING,
                    "run_id": run_id,
                    "holder": self.holder,
                    "started_at": self.clock(),
                    "pages_done": 0,
                },
                # A split made by an earlier run is made again (parts.SPLIT_JOB) or not at all.
                unset=("parts_total", "parts_done"),
                incr={"attempts": 1},
                history={"event": "started", "run_id": run_id, "holder": self.holder},
            )
        )
        if not claimed.ok or claimed.job is None:
            log.info("lost the race to claim", extra={"task_id": task_id})
            return DONE
        self._discard_unpublished(job)
        claimed_job = claimed.job
        return self._run(claimed_job, run_id, lambda lease: self._read(lease, claimed_job, run_id))

    def assemble(self, job: Job, split_run: str) -> Outcome:
        """Make a split job's result from its stored parts, under a lease on the split run (the
        part delivery that stored the last part calls this)."""
        return self._run(job, split_run, lambda lease: self._assemble(lease, job, split_run))

    def _read(self, lease: RunLease, job: Job, run_id: str) -> Stored | None:
        if job.needs_fetch:
            job = self._fetch(lease, job)
        try:
            return run_pipeline(job, self.blobs, lease, run_id, self.settings, split=self._splits)
        except SplitDocument as split:
            return self._split(lease, job, run_id, split.page_count, split.pages_per_part)

    def _fetch(self, lease: RunLease, job: Job) -> Job:
        """Fetch the job's `source_url` into its upload key and record what it is; a later attempt
        (after a transient failure further on) finds it fetched and reads it at once."""
        assert job.source_url is not None
        lease.stage(Stage.FETCHING)
        lease.record({})  # shown at once: a fetch may take a while before its first byte
        fetched = self.fetcher.fetch(job.source_url, job.blob_key, job.filename, lease.check)
        fields = {
            "size_bytes": fetched.size_bytes,
            "sha256": fetched.sha256,
            "media_type": fetched.media_type,
        }
        lease.record(fields)
        log.info("source fetched", extra={"task_id": job.task_id, "size_bytes": fetched.size_bytes})
        return job.model_copy(update=fields)

    def _splits(self, page_count: int, read_by_ocr: Callable[[], bool]) -> int | None:
        """The part size for a document of `page_count` pages, or None: read it whole."""
        return part_size(page_count, read_by_ocr, self.settings) if self.publish_part is not None else None

    def _split(
        self, lease: RunLease, job: Job, run_id: str, page_count: int, pages_per_part: int
    ) -> Stored | None:
        """Hand the document to its parts; None: the parts now hold the job."""
        assert self.publish_part is not None
        ranges = parts.plan(page_count, pages_per_part)
        # This run's claim was the job's first attempt: a new job, or a dead-letter replay (which
        # restarts the attempts): its parts' attempts restart too. A heal keeps counting them.
        publish = self.jobs.split(job.task_id, run_id, ranges, self.clock(), reset_attempts=job.attempts <= 1)
        if publish is None:
            raise LeaseLost(job.task_id)
        if not publish:
            # Every part was stored by an earlier run (whose assembly died): assemble here.
            return self._assemble(lease, job, run_id)
        for index in publish:
            self.publish_part(job.task_id, run_id, index)
        log.info(
            "split into parts",
            extra={"task_id": job.task_id, "parts": len(ranges), "published": len(publish)},
        )
        return None

    def _assemble(self, lease: RunLease, job: Job, run_id: str) -> Stored:
        part_keys = [part.key or "" for part in self.jobs.parts(job.task_id)]
        if not all(part_keys):
            raise LeaseLost(job.task_id)  # split again meanwhile: the new split's parts finish it
        return assemble(job, self.blobs, lease, run_id, self.settings, part_keys)

    def _discard_parts(self, task_id: str) -> None:
        """Delete a split job's part blobs once its result is published (or it failed for good):
        every one there is, those its parts record and any a delivery wrote before its store
        failed (retention deletes what this cannot)."""
        try:
            self.blobs.delete_parts(task_id)
        except StorageError:
            log.warning("could not delete part blobs", extra={"task_id": task_id})

    def lease_options(self, job: Job) -> dict[str, Any]:
        """How a run's lease (a whole document's or a part's) writes, beats and stops. Call at the
        run's start: it arms the soft time limit's watch."""
        settings = self.settings
        watch_soft_limit()
        signals_before = soft_limit_signals()
        return {
            "interval_s": settings.progress_interval_s,
            "heartbeat_s": settings.heartbeat_interval_s,
            "clock": self.clock,
            "observer": self.run_observer(job) if self.run_observer is not None else None,
            # A little after Celery's own soft limit, whose signal normally comes first.
            "deadline": self.clock() + settings.task_soft_time_limit_s + SOFT_LIMIT_GRACE_S,
            "soft_limit_signalled": lambda: soft_limit_signals() > signals_before,
        }

    def _run(self, job: Job, run_id: str, work: "Callable[[RunLease], Stored | None]") -> Outcome:
        lease = RunLease(self.jobs, job.task_id, run_id, **self.lease_options(job))
        try:
            with lease:
                return self._attempt(lease, job, run_id, work)
        except SoftTimeLimitExceeded:
            # Celery delivers its soft limit once, from a signal handler, wherever the run is: in
            # the pipeline, or while an ending is being written or the lease closed (the lease's
            # own check fired first, or a failure was handled just at the limit). End the run as a
            # timeout; if an ending was already written, this compare-and-set changes nothing.
            self._end(lease, job, JobState.DEAD_LETTERED, ErrorCode.TIMEOUT, self._timeout_message())
            return DONE

    def _timeout_message(self) -> str:
        return f"processing took longer than {self.settings.task_soft_time_limit_s}s"

    def _attempt(
        self, lease: RunLease, job: Job, run_id: str, work: "Callable[[RunLease], Stored | None]"
    ) -> Outcome:
        try:
            stored = work(lease)
        except DocumentError as exc:
            self._end(lease, job, JobState.FAILED, exc.code, exc.message)
            return DONE
        except MemoryError:
            # The pool process's memory cap stopped a document that inflates without bound.
            message = "the document needs more memory than a worker may use"
            self._end(lease, job, JobState.FAILED, ErrorCode.DOCUMENT_TOO_COMPLEX, message)
            return DONE
        except (JobCancelled, LeaseLost) as exc:
            log.info("run stopped: %s", type(exc).__name__, extra={"task_id": job.task_id})
            return DONE
        except SoftTimeLimitExceeded:
            raise  # ended as a timeout by _run, wherever the signal lands
        except TRANSIENT_ERRORS as exc:
            return self._retry_or_give_up(lease, job, exc)
        except Exception as exc:
            log.exception("unexpected error", extra={"task_id": job.task_id})
            self._end(lease, job, JobState.DEAD_LETTERED, ErrorCode.INTERNAL_ERROR, repr(exc))
            return DONE
        if stored is None:
            return DONE  # split: the parts hold the job now
        finished = lease.finish(
            Update(
                task_id=job.task_id,
                now=self.clock(),
                set={
                    "state": JobState.SUCCEEDED,
                    "stage": Stage.DONE,
                    "result_key": stored.result_key,
                    "finished_at": self.clock(),
                    **({"warnings": ",".join(stored.warnings)} if stored.warnings else {}),
                },
                unset=("error_code", "error_message", *(() if stored.warnings else ("warnings",))),
                terminal=True,
                history={"event": "succeeded", "run_id": run_id},
            )
        )
        if not finished.ok:
            # Cancelled or taken over while storing: this run's result must not exist.
            self.blobs.delete(stored.result_key)
        elif finished.job is not None:
            if finished.job.parts_total:
                self._discard_parts(job.task_id)
            self._notify(finished.job)
        return DONE

    def _retry_or_give_up(self, lease: RunLease, job: Job, exc: BaseException) -> Outcome:
        retries = job.attempts  # attempts already counts this delivery
        if retries > self.settings.max_retries:
            message = f"gave up after {retries} attempts: {exc!r}"
            self._end(lease, job, JobState.DEAD_LETTERED, ErrorCode.RETRIES_EXHAUSTED, message)
            return DONE
        countdown = equal_jitter_s(
            retries, self.settings.retry_backoff_base_s, self.settings.retry_backoff_max_s
        )
        message = f"transient failure, retrying in {countdown:.0f}s: {exc!r}"
        lease.finish(
            Update(
                task_id=job.task_id,
                now=self.clock(),
                set={
                    "state": JobState.RETRYING,
                    "error_code": ErrorCode.INTERNAL_ERROR,
                    "error_message": message,
                },
                history={"event": "retrying", "error": repr(exc)[:500], "countdown_s": round(countdown, 1)},
            )
        )
        log.warning("transient failure; retrying", extra={"task_id": job.task_id, "countdown_s": countdown})
        return Outcome(retry_in_s=countdown)

    def _end(self, lease: RunLease, job: Job, state: JobState, code: ErrorCode, message: str) -> None:
        trace = traceback.format_exc() if state == JobState.DEAD_LETTERED else ""
        ended = lease.finish(
            Update(
                task_id=job.task_id,
                now=self.clock(),
                set={
                    "state": state,
                    "error_code": code,
                    "error_message": message,
                    "finished_at": self.clock(),
                },
                terminal=True,
                history={"event": str(state), "error_code": str(code)},
                dead_letter=self._dead_letter(job, code, message, trace)
                if state == JobState.DEAD_LETTERED
                else None,
            )
        )
        if ended.ok and ended.job is not None:
            if state == JobState.FAILED and ended.job.parts_total:
                self._discard_parts(job.task_id)  # a permanent failure: a replay starts over
            self._notify(ended.job)
        log.info("job ended", extra={"task_id": job.task_id, "state": state, "error_code": code})

    def dead_letter_timeout(self, task_id: str, timeout_s: float) -> None:
        """The hard time limit killed the run (called in the worker's main process)."""
        job = self.jobs.get(task_id)
        if job is None or job.state != JobState.RUNNING:
            return
        message = f"killed at the hard time limit ({timeout_s:g}s)"
        self._give_up(job, ErrorCode.TIMEOUT, message, "", run_id=job.run_id)

    def _give_up(self, job: Job, code: ErrorCode, message: str, trace: str, run_id: str | None) -> None:
        """Dead-letter a job this process does not hold a lease on (poison cap, hard time limit)."""
        self.end_unheld(job, JobState.DEAD_LETTERED, code, message, trace, run_id)

    def end_unheld(
        self, job: Job, state: JobState, code: ErrorCode, message: str, trace: str, run_id: str | None
    ) -> bool:
        """End a job this process holds no job lease on (the poison cap, the hard time limit, a part
        of a split job), from the state it was read in and only while `run_id` still holds it."""
        dead = state == JobState.DEAD_LETTERED
        ended = self.jobs.update(
            Update(
                task_id=job.task_id,
                now=self.clock(),
                from_states={job.state},
                run_id=run_id,
                set={
                    "state": state,
                    "error_code": code,
                    "error_message": message,
                    "finished_at": self.clock(),
                },
                terminal=True,
                history={"event": str(state), "error_code": str(code)},
                dead_letter=self._dead_letter(job, code, message, trace) if dead else None,
            )
        )
        if not (ended.ok and ended.job is not None):
            return False
        log.warning("job ended", extra={"task_id": job.task_id, "state": state, "error_code": code})
        self._discard_unpublished(job)
        if state == JobState.FAILED and ended.job.parts_total:
            self._discard_parts(job.task_id)
        self._notify(ended.job)
        return True

    def _discard_unpublished(self, job: Job) -> None:
        """Delete the result the job's last run may have stored but never published.

        A run stores its result blob, then publishes it with its last job write; a run that died
        or lost Redis between the two left a blob that is nobody's result. Called once that run
        can no longer publish (its run id was replaced by a new claim, or the job ended without
        it), so the blob is unreachable and at most one result exists per job. A run that still
        tries to publish fails its compare-and-set and deletes its own blob anyway.
        """
        if job.run_id is None or job.state == JobState.SUCCEEDED:
            return
        try:
            self.blobs.delete(result_key(job.task_id, job.run_id))
        except StorageError:
            # Harmless: retention deletes every blob of the job with it.
            log.warning("could not delete an unpublished result", extra={"task_id": job.task_id})

    @staticmethod
    def _dead_letter(job: Job, code: ErrorCode, message: str, trace: str) -> dict[str, str]:
        trace = "" if trace.strip() == "NoneType: None" else trace
        return dead_letter_fields(names.PROCESS_DOCUMENT, [job.task_id], code, message, trace)

    def _notify(self, job: Job) -> None:
        for listener in self.on_terminal:
            try:
                listener(job)
            except Exception:
                log.exception("terminal listener failed", extra={"task_id": job.task_id})


def lease_held(last_write: float, holder: str | None, now: float, lease_s: float) -> bool:
    """Whether a run (a whole document's or a part's) still holds its lease: it wrote within
    `lease_s`, and it is not a run on this machine whose process is gone (a killed pool child
    holds nothing, whatever its last write says). A holder elsewhere (or "parts") may be alive."""
    if now - last_write >= lease_s:
        return False
    host, _, pid = (holder or "").rpartition(":")
    return not (host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid)))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
