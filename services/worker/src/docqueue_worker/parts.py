"""One delivery of `documents.process_part`: claim a page range of a split job, read it, store it,
and assemble the result when it was the last (see docqueue.jobs.parts for the model).

The decisions mirror the processor's for a whole document, per part: a permanent error in any
part fails the document (naming the page), a transient one retries that part only, the poison
cap and the time limits count per part, a cancel or takeover stops the part at its next write.
"""

import contextlib
import json
import logging
import traceback
import uuid
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

from docqueue.backoff import equal_jitter_s
from docqueue.errors import DocumentError, ErrorCode, JobCancelled, LeaseLost
from docqueue.jobs.model import Job, JobState
from docqueue.jobs.parts import RUNNING, STORED, Part
from docqueue.jobs.store import JobStore
from docqueue.storage.base import part_key
from docqueue_worker.lease import RunLease
from docqueue_worker.pipeline.run import read_part
from docqueue_worker.processor import (
    DONE,
    TRANSIENT_ERRORS,
    DocumentProcessor,
    Outcome,
    lease_held,
)

log = logging.getLogger(__name__)


class PartLease(RunLease):
    """A part's lease: its beats and page counts go to the part's record (which refreshes the
    job's), under the part's claim and the job's split run."""

    def __init__(
        self, jobs: JobStore, task_id: str, split_run: str, index: int, claim: str, **kwargs: Any
    ) -> None:
        super().__init__(jobs, task_id, split_run, **kwargs)
        self.index = index
        self.claim = claim

    def _write(self, fields: dict[str, object], event: bool = True) -> None:
        now = self.clock()
        pages_done = fields.get("pages_done", 0)
        reply = self.jobs.update_part(
            "progress", self.task_id, self.run_id, self.index, self.claim, now, pages_done=pages_done
        )
        self._last_write = now
        if reply.status == "cancelled":
            raise JobCancelled(self.task_id)
        if not reply.ok:
            raise LeaseLost(self.task_id)


class PartProcessor:
    """Processes one part per call; safe to call again for the same part (at-least-once)."""

    def __init__(self, processor: DocumentProcessor) -> None:
        self.processor = processor
        self.jobs = processor.jobs
        self.blobs = processor.blobs
        self.settings = processor.settings
        self.clock = processor.clock

    def process(self, task_id: str, split_run: str, index: int) -> Outcome:
        job = self.jobs.get(task_id)
        if job is None or job.state != JobState.RUNNING or job.run_id != split_run:
            # Ended, cancelled, re-queued or split again by a later run: this message is stale.
            log.info("skipping part", extra={"task_id": task_id, "part": index, "state": job and job.state})
            return DONE
        part = self.jobs.part(task_id, index)
        if part is None or part.state == STORED:
            return DONE
        if part.state == RUNNING and lease_held(part.at, part.holder, self.clock(), self.settings.lease_s):
            log.warning("part is held by a live run; delivering again later", extra={"task_id": task_id})
            return Outcome(retry_in_s=max(1.0, part.at + self.settings.lease_s - self.clock()))
        if part.attempts >= self.settings.max_attempts:
            message = (
                f"pages {part.first}-{part.last} were delivered {part.attempts} times without "
                "finishing (a crash or kill each time)"
            )
            self.processor.end_unheld(
                job, JobState.DEAD_LETTERED, ErrorCode.WORKER_LOST, message, "", split_run
            )
            return DONE
        claim = uuid.uuid4().hex
        claimed = self.jobs.update_part(
            "claim",
            task_id,
            split_run,
            index,
            claim,
            self.clock(),
            holder=self.processor.holder,
            prev_claim=part.claim if part.state == RUNNING else None,
        )
        if not claimed.ok or claimed.part is None:
            log.info("lost the race to claim a part", extra={"task_id": task_id, "part": index})
            return DONE
        return self._run(job, claimed.part, claim)

    def _run(self, job: Job, part: Part, claim: str) -> Outcome:
        settings = self.settings
        split_run = job.run_id or ""
        lease = PartLease(
            self.jobs, job.task_id, split_run, part.index, claim, **self.processor.lease_options(job)
        )
        try:
            with lease:
                outcome, last = self._attempt(lease, job, part, claim)
            if last:
                return self.processor.assemble(job, split_run)
            return outcome
        except SoftTimeLimitExceeded:
            message = f"pages {part.first}-{part.last} took longer than {settings.task_soft_time_limit_s}s"
            self._end(job, JobState.DEAD_LETTERED, ErrorCode.TIMEOUT, message)
            return DONE

    def _attempt(self, lease: PartLease, job: Job, part: Part, claim: str) -> tuple[Outcome, bool]:
        """This delivery's outcome, and whether it stored the job's last part."""
        split_run = job.run_id or ""
        try:
            pages = read_part(job, self.blobs, lease, self.settings, part.first, part.last)
            key = part_key(job.task_id, part.first, part.last, claim)
            body = json.dumps([page.model_dump(mode="json") for page in pages]).encode()
            self.blobs.put(key, body, ttl_s=self.settings.retention_s)
            stored = self.jobs.update_part(
                "store", job.task_id, split_run, part.index, claim, self.clock(), key=key
            )
            if not stored.ok:
                # Cancelled, ended or taken over meanwhile: these pages are nobody's part.
                self.blobs.delete(key)
        except DocumentError as exc:
            self._end(job, JobState.FAILED, exc.code, exc.message)
            return DONE, False
        except MemoryError:
            message = f"pages {part.first}-{part.last} need more memory than a worker may use"
            self._end(job, JobState.FAILED, ErrorCode.DOCUMENT_TOO_COMPLEX, message)
            return DONE, False
        except (JobCancelled, LeaseLost) as exc:
            log.info(
                "part stopped: %s", type(exc).__name__, extra={"task_id": job.task_id, "part": part.index}
            )
            return DONE, False
        except SoftTimeLimitExceeded:
            raise
        except TRANSIENT_ERRORS as exc:
            return self._retry_or_give_up(job, part, claim, exc), False
        except Exception as exc:
            log.exception("unexpected error in a part", extra={"task_id": job.task_id, "part": part.index})
            self._end(job, JobState.DEAD_LETTERED, ErrorCode.INTERNAL_ERROR, repr(exc))
            return DONE, False
        if not stored.ok:
            return DONE, False
        log.info(
            "part stored",
            extra={"task_id": job.task_id, "part": part.index, "parts_done": stored.parts_done},
        )
        return DONE, stored.parts_done >= stored.parts_total

    def _retry_or_give_up(self, job: Job, part: Part, claim: str, exc: BaseException) -> Outcome:
        retries = part.attempts  # counts this delivery
        if retries > self.settings.max_retries:
            message = f"pages {part.first}-{part.last}: gave up after {retries} attempts: {exc!r}"
            self._end(job, JobState.DEAD_LETTERED, ErrorCode.RETRIES_EXHAUSTED, message)
            return DONE
        countdown = equal_jitter_s(
            retries, self.settings.retry_backoff_base_s, self.settings.retry_backoff_max_s
        )
        # If this fails the part stays running; its lease runs out and the retry takes it over.
        with contextlib.suppress(*TRANSIENT_ERRORS):
            self.jobs.update_part("release", job.task_id, job.run_id or "", part.index, claim, self.clock())
        log.warning(
            "transient failure in a part; retrying", extra={"task_id": job.task_id, "part": part.index}
        )
        return Outcome(retry_in_s=countdown)

    def _end(self, job: Job, state: JobState, code: ErrorCode, message: str) -> None:
        trace = traceback.format_exc() if state == JobState.DEAD_LETTERED else ""
        self.processor.end_unheld(job, state, code, message, trace, job.run_id)
