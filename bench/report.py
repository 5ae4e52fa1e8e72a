"""The results as a Markdown table (printed, and pasted into the README) and as PNG plots."""

from pathlib import Path
from typing import Any

# Goals from issue 8: (comparison, limit).
UPLOAD_THROUGHPUT_MIN = 0.8
UPLOAD_P99_MAX = 1.5
WORKER_MIN = 0.9
SCALING_MIN = 1.8
E2E_P50_MAX = 1.5
BYTES_PER_JOB_MAX = 3 * 1024
STATUS_P99_MAX = 1.2


def _mark(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def _e2e_baseline(row: dict[str, Any]) -> str:
    extraction = row["bare_extraction"]["p50_ms"]
    celery = row["bare_celery_round_trip"]["p50_ms"]
    return f"{row['baseline_p50_ms']:.1f} ms (extraction {extraction:.1f} + Celery {celery:.1f})"


def _e2e_row(label: str, row: dict[str, Any], measured: dict[str, float], ratio: float) -> str:
    return _row(
        label,
        f"1 page, {row['engine']}",
        f"{measured['p50_ms']:.1f} ms (p99 {measured['p99_ms']:.1f})",
        _e2e_baseline(row),
        f"{ratio:.2f}x",
        f"<= {E2E_P50_MAX}x",
        _mark(ratio <= E2E_P50_MAX),
    )


def _parts_row(label: str, engine: str, parts: dict[str, float]) -> str:
    return _row(
        label,
        f"1 page, {engine}",
        f"202 after {parts['answer_p50_ms']:.1f} ms; queued {parts['queued_p50_ms']:.1f}; "
        f"running {parts['running_p50_ms']:.1f}; seen {parts['noticed_p50_ms']:.1f} later",
        "",
        "",
        "",
        "",
    )


def table(results: dict[str, Any]) -> str:
    lines = [
        _row("benchmark", "case", "docqueue", "baseline (same run)", "ratio", "goal", "met"),
        _row(*["---"] * 7),
    ]
    for row in results.get("upload", []):
        case = f"{row['file']}, {row['concurrency']} conn."
        dq, base = row["docqueue"], row["baseline"]
        ratio = row["throughput_ratio"] or 0.0
        lines.append(
            _row(
                "upload throughput",
                case,
                f"{dq['accepted_per_s']:.0f}/s",
                f"{base['accepted_per_s']:.0f}/s",
                f"{ratio:.2f}x",
                f">= {UPLOAD_THROUGHPUT_MIN}x",
                _mark(ratio >= UPLOAD_THROUGHPUT_MIN),
            )
        )
        p99 = row["p99_ratio"] or 0.0
        lines.append(
            _row(
                "upload p99",
                case,
                f"{dq['p99_ms']:.1f} ms",
                f"{base['p99_ms']:.1f} ms",
                f"{p99:.2f}x",
                f"<= {UPLOAD_P99_MAX}x",
                _mark(p99 <= UPLOAD_P99_MAX),
            )
        )
    for row in results.get("worker", []):
        case = f"{row['file']} 100 p., {row['engine']}, {row['processes']} proc."
        lines.append(
            _row(
                "worker pages/s",
                case,
                f"{row['docqueue']['pages_per_s']:.0f}",
                f"{row['bare']['pages_per_s']:.0f} (bare loop)",
                f"{row['ratio']:.2f}x",
                f">= {WORKER_MIN}x",
                _mark(row["ratio"] >= WORKER_MIN),
            )
        )
        if row["processes"] == 2:
            lines.append(
                _row(
                    "worker scaling",
                    case,
                    f"{row['scaling']:.2f}x of 1 proc.",
                    f"{row['bare_scaling']:.2f}x (bare loop)",
                    "",
                    f">= {SCALING_MIN}x",
                    _mark(row["scaling"] >= SCALING_MIN),
                )
            )
    for row in results.get("e2e", []):
        lines.append(_e2e_row("end to end p50", row, row["docqueue"], row["p50_ratio"]))
        if "breakdown" in row:
            lines.append(_parts_row("end to end, parts (p50)", row["engine"], row["breakdown"]))
        if "docqueue_events" in row:
            lines.append(
                _e2e_row("end to end p50, SSE", row, row["docqueue_events"], row["p50_ratio_events"])
            )
            lines.append(_parts_row("end to end, SSE, parts (p50)", row["engine"], row["breakdown_events"]))
    if "backlog" in results:
        row = results["backlog"]
        lines.append(
            _row(
                "backlog memory",
                f"{row['jobs']} queued jobs",
                f"{row['bytes_per_job']:.0f} B/job ({row['bytes_per_job_stream_node_1024']:.0f} B "
                "with stream-node-max-bytes 1024)",
                "",
                "",
                f"<= {BYTES_PER_JOB_MAX} B",
                _mark(row["bytes_per_job"] <= BYTES_PER_JOB_MAX),
            )
        )
        lines.append(
            _row(
                "status read p99",
                f"{row['jobs']} queued vs empty",
                f"{row['status_backlog']['p99_ms']:.1f} ms",
                f"{row['status_empty']['p99_ms']:.1f} ms (empty)",
                f"{row['p99_ratio']:.2f}x",
                f"<= {STATUS_P99_MAX}x",
                _mark(row["p99_ratio"] <= STATUS_P99_MAX),
            )
        )
    for row in results.get("sync_async", []):
        lines.append(
            _row(
                "time to an answer",
                f"100 pages, {row['engine']}",
                f"{row['docqueue_202_ms']:.1f} ms (202)",
                f"{row['sync_extraction_ms']:.0f} ms (sync extraction)",
                f"{row['speedup']:.0f}x sooner",
                "",
                "",
            )
        )
    lines += ocr_rows(results.get("ocr"))
    lines += format_rows(results.get("formats"))
    lines += prefer_wait_rows(results.get("prefer_wait"))
    lines += batch_rows(results.get("batch"))
    lines += failover_rows(results.get("failover"))
    lines += split_rows(results.get("split"))
    out = "\n".join(lines)
    if results.get("engines"):
        out += "\n\n" + engine_table(results["engines"])
    return out


OCR_WORKER_MIN = 0.9
OCR_SCALING_MIN = 1.8
OCR_AUTO_MAX = 1.05


def ocr_rows(ocr: dict[str, Any] | None) -> list[str]:
    if not ocr:
        return []
    one, two = ocr["processes_1"], ocr["processes_2"]
    auto = ocr["auto_vs_never"]
    bindings = ocr["bindings"]
    case = f"{ocr['documents']} x {ocr['scan_pages']}-page scan"
    return [
        _row(
            "OCR pages/s, 1 process",
            case,
            f"{one['worker_pages_per_s']:.2f}/s",
            f"{one['bare_pages_per_s']:.2f}/s (bare render + tesserocr)",
            f"{one['worker_over_bare']:.2f}x",
            f">= {OCR_WORKER_MIN}x",
            _mark(one["worker_over_bare"] >= OCR_WORKER_MIN),
        ),
        _row(
            "OCR pages/s, 2 processes",
            case,
            f"{two['worker_pages_per_s']:.2f}/s",
            f"{one['worker_pages_per_s']:.2f}/s (1 process)",
            f"{ocr['two_over_one']:.2f}x",
            f">= {OCR_SCALING_MIN}x",
            _mark(ocr["two_over_one"] >= OCR_SCALING_MIN),
        ),
        _row(
            "ocr=auto on a text PDF",
            "100 pages, pypdf",
            f"{auto['auto_s'] * 1000:.0f} ms",
            f"{auto['never_s'] * 1000:.0f} ms (ocr=never)",
            f"{auto['auto_over_never']:.3f}x",
            f"<= {OCR_AUTO_MAX}x",
            _mark(auto["auto_over_never"] <= OCR_AUTO_MAX),
        ),
        _row(
            "OCR binding",
            "same rendered pages",
            f"{bindings['tesserocr_pages_per_s']:.2f}/s (tesserocr)",
            f"{bindings['pytesseract_pages_per_s']:.2f}/s (pytesseract)",
            f"{bindings['tesserocr_speedup']:.2f}x",
            "faster kept",
            "",
        ),
    ]


PREFER_WAIT_MAX = 1.3


def prefer_wait_rows(result: dict[str, Any] | None) -> list[str]:
    """Prefer: wait against upload-then-poll and upload-then-SSE (p50 end to end, requests)."""
    if not result:
        return []
    prefer = result["prefer_wait"]
    rows = []
    for name, key, ratio in (
        ("upload then poll", "upload_then_poll", result["p50_ratio_vs_poll"]),
        ("upload then SSE", "upload_then_sse", result["p50_ratio_vs_sse"]),
    ):
        other = result[key]
        rows.append(
            _row(
                "Prefer: wait p50",
                f"{result['file']} vs {name}",
                f"{prefer['p50_ms']:.1f} ms, {prefer['requests_per_document']:g} req.",
                f"{other['p50_ms']:.1f} ms, {other['requests_per_document']:g} req.",
                f"{ratio:.2f}x",
                f"<= {PREFER_WAIT_MAX}x",
                _mark(ratio <= PREFER_WAIT_MAX),
            )
        )
    return rows


def batch_rows(result: dict[str, Any] | None) -> list[str]:
    """A batch of one-page PDFs against the same files uploaded one by one (no target was set)."""
    if not result:
        return []
    batch, singles = result["batch"], result["singles"]
    case = f"{result['documents']} one-page PDFs, {result['processes']} processes"
    return [
        _row(
            "batch: all accepted",
            case,
            f"{batch['accepted_s']:.2f} s, {batch['requests']} req.",
            f"{singles['accepted_s']:.2f} s, {singles['requests']} req. (single uploads)",
            f"{result['accepted_ratio']:.2f}x",
            "",
            "",
        ),
        _row(
            "batch: all finished",
            case,
            f"{batch['finished_s']:.2f} s",
            f"{singles['finished_s']:.2f} s (single uploads)",
            f"{result['finished_ratio']:.2f}x",
            "",
            "",
        ),
    ]


def failover_rows(result: dict[str, Any] | None) -> list[str]:
    """Replica acknowledgement cost, recovery after losing the master, Redis cost per document."""
    if not result:
        return []
    acks = result["replica_acks"]
    medians = acks["uploads_per_s_median"]
    ratio = acks["ratio_sentinel_acked_vs_standalone"]
    rows = [
        _row(
            "uploads/s, replica acks 1",
            f"{acks['rounds']} x {acks['uploads_per_round']} one-page uploads, median",
            f"{medians['sentinel, replica acks 1']:.0f}/s",
            f"{medians['standalone']:.0f}/s (standalone Redis)",
            f"{ratio:.2f}x",
            "measured, no target",
            "",
        )
    ]
    for case in result["recovery"]:
        accepted = case["first_upload_accepted_s"]
        in_flight = f"down-after {case['down_after_ms'] / 1000:g} s, {case['documents_in_flight']} documents"
        rows.append(
            _row(
                "master SIGKILLed",
                in_flight,
                f"uploads again after {accepted} s; last affected job done after "
                f"{case['last_affected_job_finished_s']} s",
                f"states {case['states']}",
                "",
                "measured, no target",
                "",
            )
        )
    cost = result["redis_cost"]
    rows.append(
        _row(
            "Redis per document",
            f"{cost['documents']} one-page documents end to end",
            f"{cost['commands_per_document']:g} commands, {cost['bytes_in_per_document']} B in, "
            f"{cost['redis_cpu_ms_per_document']:g} ms CPU",
            f"~{cost['documents_per_s_one_redis_core']} documents/s per Redis core",
            "",
            "",
            "",
        )
    )
    return rows


SPLIT_SPEEDUP_MIN = 1.7
SMALL_DURING_LARGE_MAX = 2.0


def split_rows(result: dict[str, Any] | None) -> list[str]:
    """A large document split into parts against read whole, part cost, a small upload meanwhile."""
    if not result:
        return []
    rows = []
    for name in ("dense_600", "plain_600", "ocr_scan"):
        case = result[name]
        whole = case["whole"]["seconds"]
        for split in case["split"]:
            rows.append(
                _row(
                    "split vs whole",
                    f"{name}, {result['processes']} processes, {split['pages_per_part']} pages/part "
                    f"({split['parts']} parts)",
                    f"{split['seconds']:.2f} s",
                    f"{whole:.2f} s (SPLIT_MIN_PAGES=0)",
                    f"{split['speedup']:.2f}x sooner",
                    f">= {SPLIT_SPEEDUP_MIN}x",
                    _mark(split["speedup"] >= SPLIT_SPEEDUP_MIN),
                )
            )
    overhead = result["overhead"]
    rows.append(
        _row(
            "part overhead",
            f"{overhead['pages']} pages, 1 process, {overhead['parts']} parts",
            f"{overhead['split_s']:.2f} s split",
            f"{overhead['whole_s']:.2f} s whole",
            f"{overhead['overhead_per_part_ms']:g} ms per part",
            "measured, no target",
            "",
        )
    )
    small = result["small_during_large"]
    part_s = small["large_s"] / max(1, small["large_parts"])
    bound = SMALL_DURING_LARGE_MAX * small["idle_s"] + part_s
    rows.append(
        _row(
            "1-page upload during a 2000-page run",
            f"median of the busy samples (max {small['busy_max_s']:.2f} s)",
            f"{small['busy_s']:.2f} s",
            f"{small['idle_s']:.2f} s idle",
            f"{small['busy_s'] / max(small['idle_s'], 1e-6):.2f}x",
            f"<= 2x idle + one part ({bound:.2f} s)",
            _mark(small["busy_s"] <= bound),
        )
    )
    return rows


def format_rows(formats: dict[str, Any] | None) -> list[str]:
    if not formats:
        return []
    rows = [
        _row(
            "documents/s, 1 process",
            f"{formats['documents']} x {name} ({row['bytes'] // 1024} KiB)",
            f"{row['worker_documents_per_s']:.1f}/s",
            f"{row['bare_documents_per_s']:.1f}/s (bare library loop)",
            f"{row['worker_over_bare']:.2f}x",
            f">= {formats['goal']}x",
            _mark(row["worker_over_bare"] >= formats["goal"]),
        )
        for name, row in formats["formats"].items()
    ]
    chunking = formats["chunking"]
    rows.append(
        _row(
            "chunking, tokens",
            f"{chunking['pages']} pages",
            f"{chunking['tokens_s'] * 1000:.0f} ms (256 tokens)",
            f"{chunking['characters_s'] * 1000:.0f} ms (1000 characters)",
            f"{chunking['tokens_over_characters']:.2f}x",
            "cost stated",
            "",
        )
    )
    rows.append(
        _row(
            "chunking, tokens vs semchunk",
            f"{chunking['pages']} pages",
            f"{chunking['tokens_s'] * 1000:.0f} ms (docqueue)",
            f"{chunking['semchunk_s'] * 1000:.0f} ms (semchunk 4.1, no structure)",
            f"{chunking['tokens_over_semchunk']:.2f}x",
            "cost stated",
            "",
        )
    )
    rows.append(
        _row(
            "chunking, token counts",
            f"{chunking['pages']} pages",
            f"{chunking['characters_s'] * 1000:.0f} ms (with token_count)",
            f"{chunking['characters_without_counts_s'] * 1000:.0f} ms (without)",
            f"{chunking['characters_over_without_counts']:.2f}x",
            "cost stated",
            "",
        )
    )
    return rows


def engine_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        _row(
            "file",
            "pages",
            "pypdf pages/s",
            "pdfium pages/s",
            "speed-up",
            "peak memory added, pypdf / pdfium",
            "word similarity, raw / normalized",
            "words only in pypdf / pdfium, raw / normalized",
            "normalizing, per 100 pages (share of pypdf's extraction)",
        ),
        _row(*["---"] * 9),
    ]
    for row in rows:
        lines.append(
            _row(
                row["file"],
                row["pages"],
                f"{row['pypdf_pages_per_s']:.0f}",
                f"{row['pdfium_pages_per_s']:.0f}",
                f"{row['speedup']:.1f}x",
                f"{row['pypdf_peak_rss_growth_mb']:.1f} / {row['pdfium_peak_rss_growth_mb']:.1f} MB",
                f"{row['word_similarity']:.3f} / {row.get('word_similarity_normalized', float('nan')):.3f}",
                f"{row['words_only_pypdf']} / {row['words_only_pdfium']}, "
                f"{row.get('words_only_pypdf_normalized', '-')} / "
                f"{row.get('words_only_pdfium_normalized', '-')}",
                f"{row.get('normalize_ms_per_100_pages', '-')} ms "
                f"({row.get('normalize_share_of_pypdf_extraction', float('nan')):.1%})",
            )
        )
    return "\n".join(lines)


def _save(figure: Any, title: str, path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot(results: dict[str, Any], directory: Path, suffix: str = "") -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    if results.get("worker"):
        figure, axes = plt.subplots(1, 2, figsize=(10, 4))
        for axis, file in zip(axes, ("plain", "dense"), strict=True):
            for engine, colour in (("pypdf", "tab:blue"), ("pdfium", "tab:orange")):
                rows = sorted(
                    (r for r in results["worker"] if (r["file"], r["engine"]) == (file, engine)),
                    key=lambda r: r["processes"],
                )
                if not rows:
                    continue
                procs = [r["processes"] for r in rows]
                axis.plot(
                    procs,
                    [r["docqueue"]["pages_per_s"] for r in rows],
                    "o-",
                    color=colour,
                    label=f"docqueue, {engine}",
                )
                axis.plot(
                    procs,
                    [r["bare"]["pages_per_s"] for r in rows],
                    "s--",
                    color=colour,
                    alpha=0.6,
                    label=f"bare loop, {engine}",
                )
            axis.set_title(f"{file} PDF (100 pages)")
            axis.set_xlabel("worker processes")
            axis.set_xticks([1, 2])
            axis.set_ylabel("pages / s")
            axis.set_ylim(bottom=0)
            axis.grid(alpha=0.3)
            axis.legend(fontsize=8)
        title = "Worker throughput vs processes (2-core machine)"
        written.append(_save(figure, title, directory / f"worker-throughput{suffix}.png"))
    if results.get("upload"):
        figure, axes = plt.subplots(1, 2, figsize=(10, 4))
        for axis, file in zip(axes, ("100 KB", "5 MB"), strict=True):
            rows = sorted((r for r in results["upload"] if r["file"] == file), key=lambda r: r["concurrency"])
            conns = [r["concurrency"] for r in rows]
            for who, colour in (("docqueue", "tab:blue"), ("baseline", "tab:gray")):
                axis.plot(conns, [r[who]["p50_ms"] for r in rows], "o-", color=colour, label=f"{who} p50")
                axis.plot(conns, [r[who]["p99_ms"] for r in rows], "s--", color=colour, label=f"{who} p99")
            axis.set_xscale("log", base=2)
            axis.set_yscale("log")
            axis.set_xticks(conns, [str(c) for c in conns])
            axis.set_title(f"POST {file} PDF")
            axis.set_xlabel("concurrent connections")
            axis.set_ylabel("latency (ms)")
            axis.grid(alpha=0.3, which="both")
            axis.legend(fontsize=8)
        title = "Upload latency vs concurrency: docqueue vs save-and-LPUSH baseline"
        written.append(_save(figure, title, directory / f"upload-latency{suffix}.png"))
    return written
