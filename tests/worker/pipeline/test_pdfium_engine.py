"""The `engine` option through the real API and worker: pdfium's result has pypdf's shape, the
engine is part of dedupe, and an unknown engine is refused."""

import httpx

from tests.support.documents import make_pdf, page_text
from tests.support.http import submit, upload, wait_terminal


def test_pdfium_round_trip_has_the_pypdf_shape(api: httpx.Client) -> None:
    data = make_pdf(6, title="Engines", author="Ada")
    by_engine = {}
    for engine in ("pypdf", "pdfium"):
        task_id = submit(api, data, "engines.pdf", chunk_size=300, chunk_overlap=40, engine=engine)
        task = wait_terminal(api, task_id)
        assert task["state"] == "succeeded", task
        assert task["progress"] == {"pages_done": 6, "pages_total": 6, "percent": 100.0}
        by_engine[engine] = api.get(f"/v1/tasks/{task_id}/result").json()
    # The same bytes with another engine are another task: the engine is part of dedupe.
    assert by_engine["pypdf"]["task_id"] != by_engine["pdfium"]["task_id"]
    pypdf, pdfium = by_engine["pypdf"], by_engine["pdfium"]
    assert pdfium.keys() == pypdf.keys()
    assert {**pdfium["document"]} == {**pypdf["document"]}
    assert pdfium["document"]["title"] == "Engines"
    for page in pdfium["pages"]:
        assert page.keys() == {"number", "text", "markdown", "method", "ocr_confidence"}
        assert page["markdown"] == page["text"]  # a PDF page has no structure docqueue reads yet
        assert (page["method"], page["ocr_confidence"]) == ("text", None)
        assert page["text"].split() == page_text(page["number"]).split()
    full_text = "\n\n".join(page["text"] for page in pdfium["pages"])
    for chunk in pdfium["chunks"]:
        assert chunk.keys() == pypdf["chunks"][0].keys()
        assert full_text[chunk["char_start"] : chunk["char_end"]] == chunk["text"]


def test_pdfium_error_codes_through_the_worker(api: httpx.Client) -> None:
    task_id = submit(api, make_pdf(2, user_password="pw"), engine="pdfium")
    task = wait_terminal(api, task_id)
    assert (task["state"], task["error"]["code"]) == ("failed", "encrypted_document")


def test_unknown_engine_is_a_validation_error(api: httpx.Client) -> None:
    response = upload(api, make_pdf(1), engine="ghostscript")
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"][0]["loc"] == ["body", "engine"]
