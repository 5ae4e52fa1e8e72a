"""The Grafana dashboards in deploy/monitoring: their panels and the queries they run."""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Grafana's built-in variables, as the tests set them (the only variables the dashboards use in
# queries; `${datasource}` only picks the data source).
VARIABLE = re.compile(r"\$(__rate_interval|__range|__interval)\b|\$\{(__rate_interval|__range|__interval)\}")


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: str
    ref_id: str
    expr: str

    def resolved(self, rate_interval: str, range_: str) -> str:
        values = {"__rate_interval": rate_interval, "__range": range_, "__interval": rate_interval}
        return VARIABLE.sub(lambda m: values[m.group(1) or m.group(2)], self.expr)

    def __str__(self) -> str:
        return f"{self.dashboard} / {self.panel} / {self.ref_id}"


def load(path: Path) -> dict[str, Any]:
    board: dict[str, Any] = json.loads(path.read_text())
    # The HTTP API's export wraps the dashboard; the chart accepts both forms.
    inner = board.get("dashboard")
    return inner if isinstance(inner, dict) and "panels" in inner else board


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # a collapsed row holds its panels


def queries(path: Path) -> list[PanelQuery]:
    board = load(path)
    return [
        PanelQuery(board["title"], panel["title"], target.get("refId", "?"), target["expr"])
        for panel in panels(board)
        for target in panel.get("targets", [])
        if target.get("expr")
    ]
