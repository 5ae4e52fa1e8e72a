"""Render docs/observability-overview.png: panels of the overview dashboard as the live-Prometheus
test saw them (tests/monitoring writes test-artifacts/monitoring/panels.json).

    uv run pytest tests/monitoring/test_live_prometheus.py
    uv run python deploy/monitoring/render_overview.py

A picture for the README, drawn with matplotlib (not a dependency of docqueue: have it installed).
"""

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PANELS = ROOT / "test-artifacts" / "monitoring" / "panels.json"
OUT = ROOT / "docs" / "observability-overview.png"
SHOWN = (
    "Requests per second by status",
    "Latency (uploads and event streams aside)",
    "Waiting messages by queue",
    "Oldest waiting message",
    "Jobs submitted and finished per second",
    "Upload to end (p50, p95, p99)",
    "Pages extracted per second",
    "Tasks running",
)
LEGEND_KEYS = ("status", "queue", "outcome", "hostname", "stage")


def legend(labels: dict[str, str], panel: str, index: int) -> str:
    for key in LEGEND_KEYS:
        if key in labels:
            return labels[key]
    if panel.startswith(("Latency", "Upload to end")):
        return ("p50", "p95", "p99")[index % 3]
    return "submitted" if panel.startswith("Jobs submitted") else ""


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    loaded: list[dict[str, Any]] = json.loads(PANELS.read_text())
    panels = [p for p in loaded if p["dashboard"] == "docqueue / overview"]
    t0 = min(float(v[0][0]) for p in panels for series in p["series"] if (v := series["values"]))
    figure, axes = plt.subplots(2, 4, figsize=(18, 7.5), constrained_layout=True)
    figure.suptitle("docqueue / overview: the live-Prometheus test's mixed load (1 s scrapes)", fontsize=13)
    for axis, title in zip(axes.flat, SHOWN, strict=True):
        axis.set_title(title, fontsize=10)
        index = 0
        for panel in (p for p in panels if p["panel"] == title):
            for series in panel["series"]:
                points = [(float(t), float(v)) for t, v in series["values"]]
                xs = [t - t0 for t, _ in points]
                axis.plot(
                    xs, [v for _, v in points], label=legend(series["metric"], title, index), linewidth=1.2
                )
                index += 1
        axis.set_xlabel("seconds", fontsize=8)
        axis.tick_params(labelsize=8)
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[1]:
            axis.legend(fontsize=7, loc="upper right")
    stamp = datetime.fromtimestamp(PANELS.stat().st_mtime, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    figure.text(0.995, 0.005, f"rendered from {PANELS.relative_to(ROOT)} ({stamp})", ha="right", fontsize=7)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(OUT, dpi=90)
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
