"""OCR: pages/s of docqueue's worker on an image-only PDF against the bare loop (PDFium render +
tesserocr on the same pages), one process against two, tesserocr against pytesseract on the same
rendered pages, and what `ocr=auto` costs a text-only PDF against `ocr=never`."""

import io
import statistics
import time
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
from PIL import Image

from bench.bare import TESSDATA, bare_throughput
from bench.pdfs import cached, plain_pdf
from bench.stack import BenchStack
from bench.worker import pipeline_throughput
from docqueue.jobs.model import OcrMode
from docqueue.settings import Settings
from docqueue_worker.pipeline.ocr_pages import OcrPolicy
from docqueue_worker.pipeline.run import read_document
from docqueue_worker.pipeline.scan import render

UNCAPPED_PIXELS = 10**9

SCAN_PAGES = 4


def rendered(path: Path, dpi: int = 300) -> list[Image.Image]:
    """Every page as the worker renders it for OCR (grey, at `dpi`, no pixel cap)."""
    document = pdfium.PdfDocument(path)
    try:
        return [render(document[index], dpi, UNCAPPED_PIXELS) for index in range(len(document))]
    finally:
        document.close()


def scan_file(pages: int = SCAN_PAGES) -> Path:
    """An image-only PDF of `pages` plain pages rendered at 200 DPI (a typical office scan)."""

    def build() -> bytes:
        text = cached(f"plain-{pages}.pdf", lambda: plain_pdf(pages, seed=5))
        images = rendered(text, dpi=200)
        out = io.BytesIO()
        images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=200)
        return out.getvalue()

    return cached(f"scan-{pages}.pdf", build)


def bindings(path: Path, rounds: int) -> dict[str, float]:
    """Pages/s of tesserocr (C API, in process) and pytesseract (a tesseract process per page)."""
    import pytesseract
    import tesserocr

    images = rendered(path)
    api = tesserocr.PyTessBaseAPI(path=TESSDATA, lang="eng")
    try:
        began = time.perf_counter()
        for _ in range(rounds):
            for image in images:
                api.SetImage(image)
                api.GetUTF8Text()
        tesserocr_s = time.perf_counter() - began
    finally:
        api.End()
    began = time.perf_counter()
    for _ in range(rounds):
        for image in images:
            pytesseract.image_to_string(image, lang="eng")
    pytesseract_s = time.perf_counter() - began
    pages = rounds * len(images)
    return {
        "tesserocr_pages_per_s": round(pages / tesserocr_s, 2),
        "pytesseract_pages_per_s": round(pages / pytesseract_s, 2),
        "tesserocr_speedup": round(pytesseract_s / tesserocr_s, 2),
    }


class Quiet:
    """A Progress that listens to nothing (read_document outside a worker)."""

    def stage(self, *args: Any, **kwargs: Any) -> None:
        pass

    def page_done(self, *args: Any, **kwargs: Any) -> None:
        pass


def auto_vs_never(path: Path, rounds: int) -> dict[str, float]:
    """read_document on a text-only PDF with ocr=auto against ocr=never, alternating runs."""
    settings = Settings()
    times: dict[OcrMode, list[float]] = {OcrMode.AUTO: [], OcrMode.NEVER: []}
    data = path.read_bytes()
    for _ in range(rounds):
        for mode in (OcrMode.NEVER, OcrMode.AUTO):
            policy = OcrPolicy(mode, "eng", settings.ocr_dpi, settings.ocr_max_pixels)
            began = time.perf_counter()
            pages, *_ = read_document(io.BytesIO(data), "text.pdf", Quiet(), settings, ocr=policy)
            times[mode].append(time.perf_counter() - began)
            assert all(page.method == "text" for page in pages)
    auto, never = statistics.median(times[OcrMode.AUTO]), statistics.median(times[OcrMode.NEVER])
    return {"auto_s": round(auto, 4), "never_s": round(never, 4), "auto_over_never": round(auto / never, 3)}


def run(bench: BenchStack, text_pdf: Path, quick: bool) -> dict[str, Any]:
    scan = scan_file()
    documents = 2 if quick else 6
    out: dict[str, Any] = {"scan_pages": SCAN_PAGES, "documents": documents}
    out["bindings"] = bindings(scan, 1 if quick else 3)
    print(f"  ocr bindings: {out['bindings']}", flush=True)
    for processes in (1, 2):
        bare = bare_throughput("ocr", scan, processes, documents)
        bench.flush()
        worker = pipeline_throughput(bench, scan, "pypdf", processes, documents)
        out[f"processes_{processes}"] = {
            "bare_pages_per_s": bare["pages_per_s"],
            "worker_pages_per_s": worker["pages_per_s"],
            "worker_over_bare": round(worker["pages_per_s"] / bare["pages_per_s"], 3),
        }
        print(f"  ocr {processes} process(es): {out[f'processes_{processes}']}", flush=True)
    out["two_over_one"] = round(
        out["processes_2"]["worker_pages_per_s"] / out["processes_1"]["worker_pages_per_s"], 3
    )
    out["auto_vs_never"] = auto_vs_never(text_pdf, 3 if quick else 9)
    print(f"  ocr two/one {out['two_over_one']}, auto vs never {out['auto_vs_never']}", flush=True)
    return out
