"""A corpus of hostile files that must each fail with their code within their bound, run through
the hostile stack's real worker (the images and the Office/web/e-book documents share it)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.hostile.conftest import MAX_MEMORY_MB, HostileStack
from tests.hostile.test_hostile_pdfs import peak_rss_mb, pool_pids, seconds, wait_all


@dataclass(frozen=True)
class Case:
    build: Callable[[], bytes]
    filename: str
    code: str
    bound_s: float


def run_contained(api: httpx.Client, hostile: HostileStack, corpus: dict[str, Case]) -> dict[str, Any]:
    """Upload every case, wait for all, and check each failed with its code within its bound and
    the pool processes stayed under their memory cap; the tasks, by case name."""
    ids = {}
    for name, case in corpus.items():
        response = api.post("/v1/documents", files={"file": (case.filename, case.build())})
        assert response.status_code == 202, (name, response.text)
        ids[name] = response.json()["task_id"]
    tasks = wait_all(api, ids, timeout_s=sum(case.bound_s for case in corpus.values()) + 60)
    outcomes = {name: (task["state"], (task["error"] or {}).get("code")) for name, task in tasks.items()}
    assert outcomes == {name: ("failed", case.code) for name, case in corpus.items()}
    for name, case in corpus.items():
        took_s = seconds(tasks[name], "started_at", "finished_at")
        assert took_s <= case.bound_s, f"{name} took {took_s:.1f}s (bound {case.bound_s}s)"
    peaks = [peak_rss_mb(pid) for pid in pool_pids(hostile.worker.pid)]
    assert peaks, "no pool process found"
    assert max(peaks) < MAX_MEMORY_MB, peaks
    return tasks
