"""The bare loops docqueue's worker is measured against: the same extraction library on the same
file, page by page, in as many processes, with nothing else (no queue, no Redis, no storage)."""

import multiprocessing
import time
from pathlib import Path
from typing import Any

# pypdfium2 is imported by the worker's pool processes too; importing it here keeps both sides equal.
import pypdfium2 as pdfium
from pypdf import PdfReader


def extract_pypdf(path: Path) -> int:
    reader = PdfReader(path)
    for page in reader.pages:
        page.extract_text()
    return len(reader.pages)


def extract_pdfium(path: Path) -> int:
    document = pdfium.PdfDocument(path)
    try:
        count = len(document)
        for index in range(count):
            page = document[index]
            textpage = page.get_textpage()
            textpage.get_text_range()
            textpage.close()
            page.close()
        return count
    finally:
        document.close()


_TESSERACT: dict[str, Any] = {}
TESSDATA = "/usr/share/tesseract-ocr/5/tessdata/"


def extract_ocr(path: Path) -> int:
    """Every page rendered grey at 300 DPI with PDFium and read by tesserocr (one engine per
    process, as the worker keeps one): the bare loop of docqueue's OCR."""
    import tesserocr

    api = _TESSERACT.get("eng")
    if api is None:
        api = _TESSERACT["eng"] = tesserocr.PyTessBaseAPI(path=TESSDATA, lang="eng")
    document = pdfium.PdfDocument(path)
    try:
        count = len(document)
        for index in range(count):
            page = document[index]
            bitmap = page.render(scale=300 / 72, grayscale=True)
            api.SetImage(bitmap.to_pil())
            api.GetUTF8Text()
            api.MeanTextConf()
            bitmap.close()
            page.close()
        return count
    finally:
        document.close()


EXTRACT = {"pypdf": extract_pypdf, "pdfium": extract_pdfium, "ocr": extract_ocr}


def _loop(engine: str, path: Path, documents: int, start: Any, results: Any) -> None:
    extract = EXTRACT[engine]
    # Reset the peak resident set (Linux: clear_refs 5), so the peak below is extraction's alone.
    Path("/proc/self/clear_refs").write_text("5")
    idle_kb = _status_kb("VmRSS")
    start.wait()
    began = time.perf_counter()
    pages = sum(extract(path) for _ in range(documents))
    peak_mb = (_status_kb("VmHWM") - idle_kb) / 1024
    results.put((began, time.perf_counter(), pages, peak_mb))


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def bare_throughput(engine: str, path: Path, processes: int, documents: int) -> dict[str, float]:
    """Pages per second of `processes` processes extracting `documents` copies of `path` in all."""
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    results = context.Queue()
    per_process = [documents // processes + (i < documents % processes) for i in range(processes)]
    workers = [context.Process(target=_loop, args=(engine, path, n, start, results)) for n in per_process]
    for worker in workers:
        worker.start()
    time.sleep(1.0)  # every process has imported its libraries before the clock starts
    start.set()
    rows = [results.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    window_s = max(row[1] for row in rows) - min(row[0] for row in rows)
    pages = sum(row[2] for row in rows)
    return {
        "pages": pages,
        "seconds": round(window_s, 3),
        "pages_per_s": round(pages / window_s, 1),
        "peak_rss_growth_mb": round(max(row[3] for row in rows), 1),
    }


def one_extraction_s(engine: str, path: Path, repeats: int) -> list[float]:
    """Wall times of extracting `path` once, `repeats` times in this process."""
    extract = EXTRACT[engine]
    extract(path)
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        extract(path)
        times.append(time.perf_counter() - began)
    return times
