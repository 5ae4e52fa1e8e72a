"""Dead letters (admin scope): what docqueue gave up on, to inspect, replay or purge.

with Client() as dq:
    for letter in dq.dead_letters.list():
        print(letter["task_id"], letter["error_code"], letter["attempts"])
    dq.dead_letters.replay(task_id)       # queued again under the same task id
"""

from collections.abc import Iterator
from typing import Any

import httpx

from docqueue_client import _common
from docqueue_client.models import TaskStatus


class DeadLetters:
    """The `/v1/dead-letters` routes of the caller's tenant."""

    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    def page(self, limit: int = 20, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        body = _common.answer(self._http.get("/v1/dead-letters", params=params))
        return list(body["items"]), body.get("next_cursor")

    def list(self, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """Every dead letter, newest first (at most `limit`)."""
        cursor: str | None = None
        seen = 0
        while True:
            items, cursor = self.page(100, cursor)
            for item in items:
                if limit is not None and seen >= limit:
                    return
                seen += 1
                yield item
            if not cursor or not items:
                return

    def get(self, task_id: str) -> dict[str, Any]:
        """One dead letter with its traceback and attempt history."""
        body: dict[str, Any] = _common.answer(self._http.get(f"/v1/dead-letters/{task_id}"))
        return body

    def replay(self, task_id: str) -> TaskStatus:
        """Queue the task again (same id, history kept); returns its new status."""
        return TaskStatus.from_json(_common.answer(self._http.post(f"/v1/dead-letters/{task_id}/replay")))

    def purge(self, task_id: str | None = None) -> int:
        """Forget one dead letter, or every one of the tenant; returns how many."""
        path = f"/v1/dead-letters/{task_id}" if task_id else "/v1/dead-letters"
        purged: int = _common.answer(self._http.delete(path))["purged"]
        return purged
