"""pypdf against pdfium on each file, outside docqueue: pages/s in one process, peak memory of
that process, and how far their texts agree (word sequences, page by page)."""

import difflib
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from bench.bare import bare_throughput
from docqueue_worker.pipeline.pdfium import normalize_text


def _pypdf_pages(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def _pdfium_pages(path: Path) -> list[str]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(path)
    try:
        return [normalize_text(document[i].get_textpage().get_text_range()) for i in range(len(document))]
    finally:
        document.close()


def agreement(path: Path) -> dict[str, float]:
    """Mean similarity (0-1) of the two engines' word sequences per page, and how many words each
    finds that the other does not."""
    ratios, only_pypdf, only_pdfium = [], 0, 0
    for left, right in zip(_pypdf_pages(path), _pdfium_pages(path), strict=True):
        a, b = left.split(), right.split()
        matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
        ratios.append(matcher.ratio())
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag != "equal":
                only_pypdf += i2 - i1
                only_pdfium += j2 - j1
    return {
        "word_similarity": round(sum(ratios) / len(ratios), 4),
        "words_only_pypdf": only_pypdf,
        "words_only_pdfium": only_pdfium,
    }


def run(files: dict[str, Path], documents: int) -> list[dict[str, Any]]:
    rows = []
    for label, path in files.items():
        pages = len(PdfReader(path).pages)
        count = max(1, documents * 100 // pages)
        speed = {engine: bare_throughput(engine, path, 1, count) for engine in ("pypdf", "pdfium")}
        row = {
            "file": label,
            "pages": pages,
            "size_bytes": path.stat().st_size,
            "pypdf_pages_per_s": speed["pypdf"]["pages_per_s"],
            "pdfium_pages_per_s": speed["pdfium"]["pages_per_s"],
            "speedup": round(speed["pdfium"]["pages_per_s"] / speed["pypdf"]["pages_per_s"], 2),
            "pypdf_peak_rss_growth_mb": speed["pypdf"]["peak_rss_growth_mb"],
            "pdfium_peak_rss_growth_mb": speed["pdfium"]["peak_rss_growth_mb"],
            **agreement(path),
        }
        rows.append(row)
        print(
            f"  engines {label}: pypdf {row['pypdf_pages_per_s']} pages/s, "
            f"pdfium {row['pdfium_pages_per_s']} pages/s ({row['speedup']}x), "
            f"word similarity {row['word_similarity']}",
            flush=True,
        )
    return rows
