"""The benchmark's PDFs, generated (never downloaded) and cached under bench/.cache/.

- plain: 100 pages of single-column body text (fpdf2), the easy case.
- dense: 100 pages of three justified columns in 8-point type with bold and italic runs
  (reportlab's platypus), about four times the text of a plain page and many more text operators.
- one_page: a single plain page, for the end-to-end latency.
- sized(n): a plain page plus an incompressible image, `n` bytes in all, for the upload benchmark.
Every generator is deterministic, so a run's files are the same on every machine.
"""

import io
import random
import textwrap
from collections.abc import Callable
from pathlib import Path

from fpdf import FPDF
from PIL import Image
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph  # type: ignore[import-untyped]

CACHE_DIR = Path(__file__).resolve().parent / ".cache"
# Real-world PDFs used when the machine has them (Debian documentation made by pdfTeX); the
# benchmark never downloads one.
LOCAL_REAL_PDFS = (
    Path("/usr/share/doc/libtasn1-doc/libtasn1.pdf"),
    Path("/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf"),
)

_WORDS = [
    "queue",
    "worker",
    "broker",
    "redis",
    "celery",
    "document",
    "page",
    "chunk",
    "retrieval",
    "vector",
    "token",
    "extract",
    "progress",
    "result",
    "tenant",
    "upload",
    "status",
    "retry",
    "letter",
    "beat",
    "schedule",
    "latency",
    "throughput",
    "memory",
    "stream",
    "parser",
    "column",
    "margin",
    "paragraph",
    "figure",
    "table",
    "section",
    "appendix",
    "reference",
    "citation",
    "index",
]


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(sentence(rng, rng.randint(8, 18)) for _ in range(sentences))


def plain_pdf(pages: int, seed: int = 1) -> bytes:
    """`pages` pages of 11-point body text, about 3 KB of text each, one text line per operator."""
    rng = random.Random(seed)
    pdf = FPDF()
    pdf.set_compression(True)
    pdf.set_title(f"Plain benchmark document ({pages} pages)")
    pdf.set_author("docqueue bench")
    pdf.set_font("helvetica", size=11)
    for number in range(1, pages + 1):
        pdf.add_page()
        lines = textwrap.wrap(f"Page {number}. " + paragraph(rng, 28), 88)[:52]
        for row, line in enumerate(lines):
            pdf.text(15, 18 + row * 5.2, line)
    return bytes(pdf.output())


def labelled_pdf(pages: int, label: str) -> bytes:
    """Short pages reading "<label> page N": distinct documents, so dedupe never merges them."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.text(15, 20, f"{label} page {number}.")
    return bytes(pdf.output())


def corrupt_pdf() -> bytes:
    """A PDF header over bytes no reader can use: the job ends failed / corrupt_document."""
    return b"%PDF-1.7\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"


def dense_pdf(pages: int, seed: int = 2) -> bytes:
    """`pages` pages of three justified columns of 8-point text with inline bold and italics."""
    rng = random.Random(seed)
    out = io.BytesIO()
    width, height = A4
    margin, gap = 28.0, 10.0
    column = (width - 2 * margin - 2 * gap) / 3
    frames = [
        Frame(margin + i * (column + gap), margin, column, height - 2 * margin, id=f"c{i}", showBoundary=0)
        for i in range(3)
    ]
    doc = BaseDocTemplate(
        out,
        pagesize=A4,
        title=f"Dense benchmark document ({pages} pages)",
        author="docqueue bench",
        pageTemplates=[PageTemplate(id="three", frames=frames)],
    )
    style = ParagraphStyle("dense", fontName="Times-Roman", fontSize=8, leading=9.5, alignment=4)
    story = []
    # About 60 paragraphs of this size fill a page; stop at the requested page count.
    for number in range(pages * 60):
        words = paragraph(rng, rng.randint(3, 5)).split()
        for at in rng.sample(range(len(words)), 3):
            words[at] = f"<b>{words[at]}</b>" if at % 2 else f"<i>{words[at]}</i>"
        story.append(Paragraph(f"{number}. " + " ".join(words), style))
    doc.build(story)
    data = out.getvalue()
    return _first_pages(data, pages)


def _first_pages(data: bytes, pages: int) -> bytes:
    """The first `pages` pages (the story is generous so the last page is full)."""
    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(io.BytesIO(data))
    if len(reader.pages) < pages:
        raise RuntimeError(f"the dense story filled only {len(reader.pages)} pages")
    writer = PdfWriter()
    for page in reader.pages[:pages]:
        writer.add_page(page)
    writer.add_metadata({"/Title": f"Dense benchmark document ({pages} pages)", "/Author": "docqueue bench"})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def sized_pdf(total_bytes: int, seed: int = 3) -> bytes:
    """A one-page PDF of about `total_bytes`: a line of text and an incompressible noise image."""
    rng = random.Random(seed)
    side = max(8, int((total_bytes / 3) ** 0.5))
    noise = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    pdf.text(15, 20, f"A {total_bytes // 1024} KB upload for the benchmark.")
    png = io.BytesIO()
    noise.save(png, format="PNG", compress_level=1)
    pdf.image(png, x=15, y=30, w=120)
    return bytes(pdf.output())


def cached(name: str, build: Callable[[], bytes]) -> Path:
    """Build once per checkout; the files are regenerated when deleted."""
    path = CACHE_DIR / name
    if not path.exists():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(build())
        tmp.replace(path)
    return path


def bench_files() -> dict[str, Path]:
    return {
        "plain": cached("plain-100.pdf", lambda: plain_pdf(100)),
        "dense": cached("dense-100.pdf", lambda: dense_pdf(100)),
        "one_page": cached("one-page.pdf", lambda: plain_pdf(1, seed=4)),
        "upload_100k": cached("upload-100k.pdf", lambda: sized_pdf(100 * 1024)),
        "upload_5m": cached("upload-5m.pdf", lambda: sized_pdf(5 * 1024 * 1024)),
    }


def real_files() -> dict[str, Path]:
    """The real-world PDFs this machine happens to have (none on a bare machine)."""
    return {path.stem: path for path in LOCAL_REAL_PDFS if path.is_file()}


if __name__ == "__main__":
    for label, path in {**bench_files(), **real_files()}.items():
        print(f"{label:12} {path.stat().st_size / 1024:9.0f} KB  {path}")
