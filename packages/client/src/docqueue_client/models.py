"""What the API returns, as plain typed objects."""

from dataclasses import dataclass
from typing import Any

TERMINAL_STATES = frozenset({"succeeded", "failed", "cancelled", "dead_lettered"})


@dataclass(frozen=True)
class TaskStatus:
    """A task's state as of one read (or one event)."""

    task_id: str
    state: str
    stage: str
    pages_done: int
    pages_total: int
    percent: float
    attempts: int
    error: dict[str, Any] | None
    filename: str
    status_url: str
    result_url: str
    events_url: str
    raw: dict[str, Any]
    # Said of a succeeded task: "no_text_found", "ocr_low_confidence".
    warnings: tuple[str, ...] = ()
    # A large document read as page-range parts by several workers: how many, how many are read
    # (0 and 0 for a document read whole).
    parts_total: int = 0
    parts_done: int = 0

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def succeeded(self) -> bool:
        return self.state == "succeeded"

    @property
    def progress_key(self) -> tuple[str, str, int, int, float]:
        """What `on_progress` callbacks are called on a change of."""
        return (self.state, self.stage, self.pages_done, self.pages_total, self.percent)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TaskStatus":
        progress = data.get("progress") or {}
        parts = data.get("parts") or {}
        return cls(
            task_id=data["task_id"],
            state=data["state"],
            stage=data.get("stage", ""),
            pages_done=int(progress.get("pages_done", 0)),
            pages_total=int(progress.get("pages_total", 0)),
            percent=float(progress.get("percent", 0.0)),
            attempts=int(data.get("attempts", 0)),
            error=data.get("error"),
            filename=data.get("filename", ""),
            status_url=data.get("status_url", ""),
            result_url=data.get("result_url", ""),
            events_url=data.get("events_url", ""),
            raw=data,
            warnings=tuple(data.get("warnings") or ()),
            parts_total=int(parts.get("total", 0)),
            parts_done=int(parts.get("done", 0)),
        )


@dataclass(frozen=True)
class Accepted:
    """The answer to an upload."""

    task_id: str
    state: str
    status_url: str
    result_url: str
    events_url: str
    deduplicated: bool

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Accepted":
        return cls(
            task_id=data["task_id"],
            state=data["state"],
            status_url=data["status_url"],
            result_url=data["result_url"],
            events_url=data.get("events_url") or f"{data['status_url']}/events",
            deduplicated=bool(data.get("deduplicated", False)),
        )


@dataclass(frozen=True)
class BatchStatus:
    """A batch's state as of one read (or one event): counts per state, pages over all members,
    and (from `Batches.get`) one page of its members."""

    batch_id: str
    state: str  # running, succeeded, completed_with_errors
    total: int
    counts: dict[str, int]
    pages_done: int
    pages_total: int
    percent: float
    status_url: str
    raw: dict[str, Any]
    # The member whose change an event reports (events only).
    member: dict[str, Any] | None = None

    @property
    def is_running(self) -> bool:
        return self.state == "running"

    @property
    def succeeded(self) -> bool:
        return self.state == "succeeded"

    @property
    def done(self) -> int:
        """Members that ended, whatever their outcome."""
        return sum(self.counts.get(state, 0) for state in TERMINAL_STATES)

    @property
    def progress_key(self) -> tuple[Any, ...]:
        return (self.state, self.done, self.pages_done, self.pages_total)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "BatchStatus":
        progress = data.get("progress") or {}
        return cls(
            batch_id=data["batch_id"],
            state=data["state"],
            total=int(data.get("total", 0)),
            counts={name: int(count) for name, count in (data.get("counts") or {}).items()},
            pages_done=int(progress.get("pages_done", 0)),
            pages_total=int(progress.get("pages_total", 0)),
            percent=float(progress.get("percent", 0.0)),
            status_url=data.get("status_url", ""),
            raw=data,
            member=data.get("member"),
        )
