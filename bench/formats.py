"""Office, web and e-book formats: documents/s of one worker process per format against a bare loop
calling the same library on the same files, and what token chunking costs against characters.

The bare loops read what docqueue reads (every paragraph, cell, slide shape, chapter) with the
library alone: no queue, no structure, no chunking, no storage. The documents are written here,
forty sections of prose and a table each (a report of about 20 pages)."""

import csv
import io
import random
import statistics
import time
import uuid
import zipfile
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeXml
import docx
import httpx
import openpyxl
import pptx
import semchunk.semchunk
from selectolax.lexbor import LexborHTMLParser

from bench.ocr import Quiet
from bench.pdfs import paragraph
from bench.stack import BenchStack
from bench.worker import drain
from docqueue.jobs.model import Tokenizer
from docqueue.results import Page
from docqueue_worker.pipeline import tokens
from docqueue_worker.pipeline.chunk import chunk_pages, document_text
from docqueue_worker.pipeline.run import read_document

SECTIONS = 40
RATIO_GOAL = 0.9


def sections(seed: str) -> list[tuple[str, list[str], list[list[str]]]]:
    rng = random.Random(seed)
    return [
        (
            f"Section {n} {seed}",
            [paragraph(rng, 6) for _ in range(4)],
            [
                ["Item", "Count", "Note"],
                *[[f"item {n}.{r}", str(rng.randint(1, 999)), "ok"] for r in range(8)],
            ],
        )
        for n in range(1, SECTIONS + 1)
    ]


def build_docx(seed: str) -> bytes:
    document = docx.Document()
    for heading, paragraphs, table in sections(seed):
        document.add_heading(heading, level=1)
        for text in paragraphs:
            document.add_paragraph(text)
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, cell in enumerate(row):
                grid.cell(r, c).text = cell
    return _saved(document)


def build_pptx(seed: str) -> bytes:
    deck = pptx.Presentation()
    for heading, paragraphs, _ in sections(seed):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = heading
        slide.placeholders[1].text_frame.text = "\n".join(paragraphs[:2])
        slide.notes_slide.notes_text_frame.text = paragraphs[2]
    return _saved(deck)


def build_xlsx(seed: str) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.worksheets[0])
    for heading, _, table in sections(seed):
        sheet = workbook.create_sheet(heading[:31])
        for _ in range(10):
            for row in table:
                sheet.append(row)
    return _saved(workbook)


def _html_body(seed: str) -> str:
    parts = []
    for heading, paragraphs, table in sections(seed):
        rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in table)
        parts.append(
            f"<h2>{escape(heading)}</h2>"
            + "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
            + f"<table>{rows}</table>"
        )
    return "".join(parts)


def build_html(seed: str) -> bytes:
    head = f"<!DOCTYPE html><html><head><title>{seed}</title></head>"
    return f"{head}<body>{_html_body(seed)}</body></html>".encode()


def build_epub(seed: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        archive.writestr(
            "META-INF/container.xml",
            '<?xml version="1.0"?>'
            '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
            '<rootfile full-path="content.opf"/></rootfiles></container>',
        )
        items = "".join(
            f'<item id="c{n}" href="c{n}.xhtml" media-type="application/xhtml+xml"/>' for n in range(3)
        )
        spine = "".join(f'<itemref idref="c{n}"/>' for n in range(3))
        archive.writestr(
            "content.opf",
            f'<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf"><manifest>{items}</manifest>'
            f"<spine>{spine}</spine></package>",
        )
        for n in range(3):
            archive.writestr(f"c{n}.xhtml", f"<html><body>{_html_body(f'{seed}-{n}')}</body></html>")
    return buffer.getvalue()


def build_csv(seed: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for _, _, table in sections(seed):
        writer.writerows(table[1:] * 5)
    return out.getvalue().encode()


def bare_docx(data: bytes) -> int:
    document = docx.Document(io.BytesIO(data))
    for item in document.iter_inner_content():
        if isinstance(item, docx.table.Table):
            [cell.text for row in item.rows for cell in row.cells]
        else:
            item.text  # noqa: B018 - the read is the point
    return 1


def bare_pptx(data: bytes) -> int:
    deck = pptx.Presentation(io.BytesIO(data))
    for slide in deck.slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                shape.text_frame.text  # noqa: B018
        if slide.has_notes_slide:
            slide.notes_slide.notes_text_frame.text  # noqa: B018
    return len(deck.slides)


def bare_xlsx(data: bytes) -> int:
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    for sheet in workbook.worksheets:
        for _ in sheet.iter_rows(values_only=True):
            pass
    count = len(workbook.worksheets)
    workbook.close()
    return count


def bare_html(data: bytes) -> int:
    tree = LexborHTMLParser(data)
    if tree.body is not None:
        tree.body.text(separator="\n")
    return 1


def bare_epub(data: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        SafeXml.fromstring(archive.read("content.opf"))
        for n in range(3):
            bare_html(archive.read(f"c{n}.xhtml"))
    return 3


def bare_csv(data: bytes) -> int:
    list(csv.reader(data.decode().splitlines()))
    return 1


FORMATS: dict[str, tuple[Callable[[str], bytes], Callable[[bytes], int], str]] = {
    "docx": (build_docx, bare_docx, "report.docx"),
    "pptx": (build_pptx, bare_pptx, "deck.pptx"),
    "xlsx": (build_xlsx, bare_xlsx, "book.xlsx"),
    "html": (build_html, bare_html, "page.html"),
    "epub": (build_epub, bare_epub, "book.epub"),
    "csv": (build_csv, bare_csv, "table.csv"),
}


def bare_documents_per_s(bare: Callable[[bytes], int], documents: list[bytes]) -> float:
    bare(documents[0])  # imports and caches warm, as in a worker that has run before
    began = time.perf_counter()
    for data in documents:
        bare(data)
    return len(documents) / (time.perf_counter() - began)


def worker_documents_per_s(bench: BenchStack, filename: str, documents: list[bytes]) -> float:
    """Upload with no worker running, then start one process and time the job records from the
    first claim to the last finish (worker start-up not counted), as bench/worker.py does."""
    headers = {"Authorization": f"Bearer {bench.api_key}"}
    with httpx.Client(base_url=bench.api_url, headers=headers, timeout=60) as client:
        ids = []
        for data in documents:
            answer = client.post(
                "/v1/documents", files={"file": (filename, data, "application/octet-stream")}
            )
            answer.raise_for_status()
            ids.append(answer.json()["task_id"])
    _, started, finished = drain(bench, ids, 1, f"worker-{filename}")
    return len(documents) / (finished - started)


def chunking_cost(pdf: Path, rounds: int) -> dict[str, float]:
    """chunk_pages on a 100-page document's text: characters without token counts (as before),
    characters with token counts (today's default), and tokens."""
    from docqueue.settings import Settings

    pages, *_ = read_document(io.BytesIO(pdf.read_bytes()), "plain.pdf", Quiet(), Settings())
    tokenizer = tokens.encoding(Tokenizer.CL100K_BASE)
    text, _ = document_text(pages)
    splitter = semchunk.semchunk.chunkerify(lambda piece: tokens.count(tokenizer, piece), 256)
    cases: dict[str, Callable[[list[Page]], object]] = {
        "characters_without_counts": lambda p: chunk_pages(p, 1000, 150),
        "characters": lambda p: chunk_pages(p, 1000, 150, tokenizer=tokenizer),
        "tokens": lambda p: chunk_pages(p, 256, 32, tokenizer=tokenizer, by_tokens=True),
        # The same budget and overlap with semchunk, on the joined text (it knows no sections,
        # tables or pages; its offsets give the spans).
        "semchunk": lambda p: splitter(text, offsets=True, overlap=32),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, case in cases.items():
            began = time.perf_counter()
            case(pages)
            times[name].append(time.perf_counter() - began)
    medians = {name: statistics.median(values) for name, values in times.items()}
    base = medians["characters_without_counts"]
    return {
        "pages": len(pages),
        **{f"{name}_s": round(value, 4) for name, value in medians.items()},
        "characters_over_without_counts": round(medians["characters"] / base, 2),
        "tokens_over_characters": round(medians["tokens"] / medians["characters"], 2),
        "tokens_over_semchunk": round(medians["tokens"] / medians["semchunk"], 2),
    }


def run(bench: BenchStack, plain_pdf: Path, quick: bool) -> dict[str, Any]:
    count = 5 if quick else 30
    out: dict[str, Any] = {"documents": count, "sections": SECTIONS, "goal": RATIO_GOAL, "formats": {}}
    for name, (build, bare, filename) in FORMATS.items():
        documents = [build(uuid.uuid4().hex[:8]) for _ in range(count)]
        bare_rate = bare_documents_per_s(bare, documents)
        bench.flush()
        worker_rate = worker_documents_per_s(bench, filename, documents)
        row = {
            "bare_documents_per_s": round(bare_rate, 1),
            "worker_documents_per_s": round(worker_rate, 1),
            "worker_over_bare": round(worker_rate / bare_rate, 3),
            "bytes": len(documents[0]),
        }
        out["formats"][name] = row
        print(f"  {name}: {row}", flush=True)
    out["chunking"] = chunking_cost(plain_pdf, 3 if quick else 9)
    print(f"  chunking: {out['chunking']}", flush=True)
    return out


def _saved(document: object) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)  # type: ignore[attr-defined]
    return buffer.getvalue()
