"""Pure builders for the job scripts' KEYS and ARGV, shared by the sync and async stores."""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from docqueue.jobs import keys
from docqueue.jobs.model import Job, JobOptions, JobState
from docqueue.text import as_text

# Progress events kept per job for SSE resumption; older ones are trimmed.
EVENTS_MAXLEN = 200
# Redis expiry on every job key beyond its retention: a backstop should retention cleanup stop.
BACKSTOP_GRACE_S = 24 * 3600
# Entries kept in the dead-letter stream at most; the oldest are trimmed beyond this.
DEAD_LETTERS_MAXLEN = 100_000


def fingerprint(sha256: str, options: JobOptions) -> str:
    """The dedupe key of an upload: the same bytes with the same options."""
    return hashlib.sha256(f"{sha256}\n{options.canonical()}".encode()).hexdigest()


def create_keys(job: Job) -> list[str]:
    return [
        keys.job(job.task_id),
        keys.job_events(job.task_id),
        keys.ACTIVE_JOBS,
        keys.JOB_EXPIRY,
        keys.tenant_jobs(job.tenant),
        keys.dedupe(job.tenant, fingerprint(job.sha256, job.options)),
        keys.job_history(job.task_id),
    ]


def delete_keys(job: Job) -> list[str]:
    return [
        *create_keys(job),
        keys.DEAD_LETTER_INDEX,
        keys.job_webhook_attempts(job.task_id),
        keys.job_parts(job.task_id),
        keys.TENANT_PAGES_IN_FLIGHT,
    ]


def create_args(job: Job, retention_s: int, batch_id: str | None = None) -> list[str]:
    kept_s = job.retention_s or retention_s
    return [
        json.dumps(job.to_redis()),
        stamp(job.updated_at),
        stamp(job.created_at),
        stamp(job.expires_at(retention_s)),
        keys.JOB_PREFIX,
        str(kept_s + BACKSTOP_GRACE_S),
        "0" if job.needs_fetch else "1",
        batch_id or "",
    ]


def update_keys(task_id: str) -> list[str]:
    return [
        keys.job(task_id),
        keys.job_events(task_id),
        keys.ACTIVE_JOBS,
        keys.JOB_EXPIRY,
        keys.job_history(task_id),
        keys.DEAD_LETTERS,
        keys.DEAD_LETTER_INDEX,
        keys.TENANT_PAGES_IN_FLIGHT,
    ]


@dataclass(frozen=True)
class Update:
    """One compare-and-set on a job: move only from `from_states`, only while `run_id` holds it."""

    task_id: str
    now: float
    from_states: Iterable[JobState] | None = None
    run_id: str | None = None
    set: Mapping[str, Any] = field(default_factory=dict)
    incr: Mapping[str, int] = field(default_factory=dict)
    unset: Iterable[str] = ()
    event: bool = True
    terminal: bool = False
    # Appended to the job's history (with the attempt number, state and time) when set.
    history: Mapping[str, Any] | None = None
    # Appended to the dead letters (with tenant, attempts and history) when set.
    dead_letter: Mapping[str, str] | None = None

    def args(self, retention_s: int) -> list[str]:
        spec: dict[str, Any] = {
            "task_id": self.task_id,
            "now": stamp(self.now),
            "set": {key: str(value) for key, value in self.set.items() if value is not None},
            "incr": dict(self.incr),
            "unset": list(self.unset),
            "event": self.event,
            "terminal": self.terminal,
            # The job's own `retention_s` field, when it has one, wins (scripts.UPDATE_JOB).
            "retention_s": retention_s,
            "grace_s": BACKSTOP_GRACE_S,
            "events_maxlen": EVENTS_MAXLEN,
            "dead_letters_maxlen": DEAD_LETTERS_MAXLEN,
        }
        if self.history is not None:
            spec["history"] = dict(self.history)
        if self.dead_letter is not None:
            spec["dead_letter"] = dict(self.dead_letter)
        if self.from_states is not None:
            spec["from"] = [str(state) for state in self.from_states]
        if self.run_id is not None:
            spec["run_id"] = self.run_id
        return [json.dumps(spec)]


@dataclass(frozen=True)
class UpdateResult:
    """What an update found: `ok`, `missing` (no such job) or `conflict` (CAS refused)."""

    status: str
    job: Job | None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @classmethod
    def parse(cls, reply: Any) -> "UpdateResult":
        status, snapshot = (as_text(part) for part in reply)
        return cls(status, Job.from_redis(json.loads(snapshot)) if snapshot else None)


def stamp(epoch_s: float) -> str:
    return f"{epoch_s:.6f}"
