"""pypdf against pdfium on each file, outside docqueue: pages/s in one process, peak memory of
that process, how far their texts agree (word sequences, page by page) before and after the text
normalization, and what the normalization costs against the extraction."""

import difflib
import time
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from bench.bare import bare_throughput
from docqueue_worker.pipeline.normalize import normalize_pages
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


def agreement(pypdf_pages: list[str], pdfium_pages: list[str], suffix: str = "") -> dict[str, float]:
    """Mean similarity (0-1) of the two engines' word sequences per page, and how many words each
    finds that the other does not."""
    ratios, only_pypdf, only_pdfium = [], 0, 0
    for left, right in zip(pypdf_pages, pdfium_pages, strict=True):
        a, b = left.split(), right.split()
        matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
        ratios.append(matcher.ratio())
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag != "equal":
                only_pypdf += i2 - i1
                only_pdfium += j2 - j1
    return {
        f"word_similarity{suffix}": round(sum(ratios) / len(ratios), 4),
        f"words_only_pypdf{suffix}": only_pypdf,
        f"words_only_pdfium{suffix}": only_pdfium,
    }


def normalization_cost(pages: list[str], extraction_s: float, rounds: int = 5) -> dict[str, float]:
    """Seconds the normalization takes per 100 pages, and as a share of the extraction's time."""
    began = time.perf_counter()
    for _ in range(rounds):
        normalize_pages(pages)
    per_page_s = (time.perf_counter() - began) / rounds / len(pages)
    return {
        "normalize_ms_per_100_pages": round(per_page_s * 100 * 1000, 2),
        "normalize_share_of_pypdf_extraction": round(per_page_s / extraction_s, 4),
    }


def texts(path: Path) -> tuple[list[str], list[str], float]:
    """Both engines' page texts, and pypdf's seconds per page for them."""
    began = time.perf_counter()
    pypdf_pages = _pypdf_pages(path)
    pypdf_s_per_page = (time.perf_counter() - began) / len(pypdf_pages)
    return pypdf_pages, _pdfium_pages(path), pypdf_s_per_page


def run(files: dict[str, Path], documents: int) -> list[dict[str, Any]]:
    rows = []
    for label, path in files.items():
        pages = len(PdfReader(path).pages)
        count = max(1, documents * 100 // pages)
        speed = {engine: bare_throughput(engine, path, 1, count) for engine in ("pypdf", "pdfium")}
        pypdf_pages, pdfium_pages, pypdf_s_per_page = texts(path)
        row = {
            "file": label,
            "pages": pages,
            "size_bytes": path.stat().st_size,
            "pypdf_pages_per_s": speed["pypdf"]["pages_per_s"],
            "pdfium_pages_per_s": speed["pdfium"]["pages_per_s"],
            "speedup": round(speed["pdfium"]["pages_per_s"] / speed["pypdf"]["pages_per_s"], 2),
            "pypdf_peak_rss_growth_mb": speed["pypdf"]["peak_rss_growth_mb"],
            "pdfium_peak_rss_growth_mb": speed["pdfium"]["peak_rss_growth_mb"],
            **agreement(pypdf_pages, pdfium_pages),
            **agreement(normalize_pages(pypdf_pages), normalize_pages(pdfium_pages), "_normalized"),
            **normalization_cost(pypdf_pages, pypdf_s_per_page),
        }
        rows.append(row)
        print(
            f"  engines {label}: pypdf {row['pypdf_pages_per_s']} pages/s, "
            f"pdfium {row['pdfium_pages_per_s']} pages/s ({row['speedup']}x), "
            f"word similarity {row['word_similarity']} -> {row['word_similarity_normalized']} "
            f"normalized (normalizing: {row['normalize_ms_per_100_pages']} ms per 100 pages, "
            f"{row['normalize_share_of_pypdf_extraction']:.1%} of pypdf's extraction)",
            flush=True,
        )
    return rows
