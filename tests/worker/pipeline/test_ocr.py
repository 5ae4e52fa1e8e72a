"""OCR through the real API and worker: scans are read page by page, text pages never are, every
page says how it was read, images are documents, and options, warnings and dedupe behave."""

import io
import json
from pathlib import Path
from typing import Any

import httpx
from fpdf import FPDF
from PIL import Image
from pypdf import PdfReader, PdfWriter

from docqueue_client import Client
from tests.client.test_cli import run_cli
from tests.conftest import KeyMaker
from tests.support.documents import make_pdf, page_text
from tests.support.http import submit, upload, wait_terminal
from tests.support.scans import image_file, image_pdf, page_images, recall

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
GERMAN = (
    "Die Prüfung der Verträge ergab, dass die Kündigungsfrist für Mietverhältnisse über "
    "Geschäftsräume drei Monate beträgt. Größere Änderungen bedürfen der Schriftform, und "
    "die Gewährleistung endet zwölf Monate nach der Übergabe des Gebäudes an den Käufer."
)


def finished(api: httpx.Client, data: bytes, filename: str = "scan.pdf", **fields: str) -> dict[str, Any]:
    task_id = submit(api, data, filename, **fields)
    task = wait_terminal(api, task_id, timeout_s=120)
    assert task["state"] == "succeeded", task
    result: dict[str, Any] = api.get(f"/v1/tasks/{task_id}/result").json()
    result["status"] = task
    return result


def typeset(text: str) -> bytes:
    pdf = FPDF()
    pdf.add_font("dejavu", fname=FONT)
    pdf.set_font("dejavu", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 7, text)
    return bytes(pdf.output())


def test_a_scanned_pdf_is_read_by_ocr(api: httpx.Client) -> None:
    pages = [page_text(1), page_text(2)]
    scan = image_pdf(page_images(make_pdf(2, lambda n: pages[n - 1])))
    result = finished(api, scan)
    assert [page["method"] for page in result["pages"]] == ["ocr", "ocr"]
    assert result["document"]["ocr_pages"] == 2
    for original, page in zip(pages, result["pages"], strict=True):
        assert recall(original, page["text"]) >= 0.9
        assert 0.5 < page["ocr_confidence"] <= 1
    assert result["chunks"], "OCR text is chunked like any other"
    document = "\n\n".join(page["text"] for page in result["pages"])
    for chunk in result["chunks"]:
        assert document[chunk["char_start"] : chunk["char_end"]] == chunk["text"]
    assert result["warnings"] == []
    assert result["status"]["warnings"] == []


def test_german_is_read_with_its_language(api: httpx.Client) -> None:
    scan = image_pdf(page_images(typeset(GERMAN)))
    result = finished(api, scan, ocr_languages="deu")
    text = result["pages"][0]["text"]
    assert recall(GERMAN, text) >= 0.9, text
    assert "Kündigungsfrist" in text


def test_auto_leaves_a_text_pdf_alone_and_always_reads_it_by_ocr(api: httpx.Client) -> None:
    data = make_pdf(3)
    never = finished(api, data, "text.pdf", ocr="never")
    auto = finished(api, data, "text.pdf", ocr="auto")
    assert [page["method"] for page in auto["pages"]] == ["text"] * 3
    assert [page["text"] for page in auto["pages"]] == [page["text"] for page in never["pages"]]
    assert all(page["ocr_confidence"] is None for page in auto["pages"])
    always = finished(api, data, "text.pdf", ocr="always")
    assert [page["method"] for page in always["pages"]] == ["ocr"] * 3
    assert always["document"]["ocr_pages"] == 3
    assert recall(page_text(2), always["pages"][1]["text"]) >= 0.9


def test_a_mixed_pdf_gets_each_page_right(api: httpx.Client) -> None:
    texts = make_pdf(3)
    scanned = image_pdf(page_images(make_pdf(1, lambda _: page_text(7))))
    writer = PdfWriter()
    reader, scan = PdfReader(io.BytesIO(texts)), PdfReader(io.BytesIO(scanned))
    writer.add_page(reader.pages[0])
    writer.add_page(scan.pages[0])
    writer.add_page(reader.pages[2])
    out = io.BytesIO()
    writer.write(out)
    for engine in ("pypdf", "pdfium"):
        result = finished(api, out.getvalue(), "mixed.pdf", engine=engine)
        assert [page["method"] for page in result["pages"]] == ["text", "ocr", "text"], engine
        assert recall(page_text(7), result["pages"][1]["text"]) >= 0.9
        assert result["pages"][0]["text"].startswith("Page 1 begins.")


def test_images_are_documents_each_frame_a_page(api: httpx.Client) -> None:
    pages = [page_text(3), page_text(4)]
    frames = page_images(make_pdf(2, lambda n: pages[n - 1]))
    tiff = finished(api, image_file(frames, "TIFF"), "fax.tif")
    assert tiff["document"]["media_type"] == "image/tiff"
    assert tiff["document"]["page_count"] == 2
    assert [recall(o, p["text"]) >= 0.9 for o, p in zip(pages, tiff["pages"], strict=True)] == [True, True]
    for fmt, media_type in (("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")):
        # Any filename: the bytes decide.
        result = finished(api, image_file(frames[:1], fmt), "picture.bin")
        assert result["document"]["media_type"] == media_type
        assert result["pages"][0]["method"] == "ocr"
        assert recall(pages[0], result["pages"][0]["text"]) >= 0.9, fmt


def test_a_blank_scan_succeeds_and_says_no_text_found(api: httpx.Client) -> None:
    blank = image_file([Image.new("L", (1700, 2200), 255)], "PNG")
    result = finished(api, blank, "blank.png")
    assert result["warnings"] == ["no_text_found"]
    assert result["status"]["warnings"] == ["no_text_found"]
    assert result["chunks"] == []


def test_an_upside_down_scan_succeeds_and_says_ocr_low_confidence(api: httpx.Client) -> None:
    # Fed the wrong way round, as scanners are: Tesseract reads garbage, and says it is unsure.
    upside_down = image_file([page_images(make_pdf(1))[0].rotate(180)], "PNG")
    result = finished(api, upside_down, "upside-down.png")
    assert result["pages"][0]["ocr_confidence"] < 0.6
    assert result["warnings"] == ["ocr_low_confidence"]
    assert result["status"]["warnings"] == ["ocr_low_confidence"]


def test_ocr_options_are_validated_and_part_of_dedupe(api: httpx.Client) -> None:
    data = make_pdf(1, lambda _: f"dedupe {page_text(9)}")
    first = upload(api, data, "d.pdf", ocr="never")
    again = upload(api, data, "d.pdf", ocr="never")
    other = upload(api, data, "d.pdf", ocr="always", ocr_languages="eng+deu")
    assert first.status_code == 202
    assert again.status_code == 200
    assert other.status_code == 202
    assert other.json()["task_id"] != first.json()["task_id"]
    unknown = upload(api, data, "d.pdf", ocr_languages="eng+ita")
    assert unknown.status_code == 422
    problem = unknown.json()
    assert problem["code"] == "validation_error"
    assert "ita" in problem["detail"]
    assert "installed: deu, eng, fra, spa" in problem["detail"]
    assert upload(api, data, "d.pdf", ocr="sometimes").status_code == 422


def test_the_cli_and_client_pass_ocr_options_and_show_warnings(
    api_url: str, make_key: KeyMaker, tmp_path: Path
) -> None:
    key = make_key()
    scan = tmp_path / "scan.png"
    scan.write_bytes(image_file(page_images(make_pdf(1)), "PNG"))
    blank = tmp_path / "blank.png"
    blank.write_bytes(image_file([Image.new("L", (800, 1000), 255)], "PNG"))
    done = run_cli(
        api_url, key, "submit", str(scan), str(blank), "--ocr-languages", "eng+deu", "--wait", "--json"
    )
    assert done.returncode == 0, done.stderr
    rows = {Path(row["file"]).name: row for row in json.loads(done.stdout)}
    assert rows["scan.png"]["state"] == "succeeded"
    assert rows["scan.png"]["warnings"] == ""
    assert rows["blank.png"]["warnings"] == "no_text_found"
    # The Python client: options through, warnings on the status.
    with Client(api_url, key) as dq:
        task = dq.submit(blank, ocr="always", ocr_languages="fra")
        final = task.wait(timeout_s=120)
    assert final.succeeded
    assert final.warnings == ("no_text_found",)
