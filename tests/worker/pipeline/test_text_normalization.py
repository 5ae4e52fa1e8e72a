"""One normalization for every reader, through the real API and worker: both engines give the
same searchable text (no ligature code points, no line-end hyphen splits), right-to-left text keeps
its order, spans index the normalized text, and `none` gives the reader's raw text."""

import io
import re
import unicodedata
from typing import Any

import httpx
from fpdf import FPDF

from tests.support.http import submit, wait_terminal

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LATIN = [
    "The de\ufb01nition of a \ufb02ow needs e\ufb00ort, a su\ufb03x and a ba\ufb04e.",
    "Lorem ipsum dolor sit amet, consectetur adip-",
    "iscing elit, sed do eiusmod a well-known rule and a hyphen-",
    "ated word. Jean-Pierre keeps his hyphen, so does a well-",
    "known compound at a line end.",
]
# As many PDF producers store them: Arabic as shaped presentation forms, Hebrew with a
# presentation-form letter, and plain letters beside them.
RTL = [
    "Arabic \ufeb3\ufee0\ufe8e\ufee1 plain \u0645\u0631\u062d\u0628\u0627",
    "Hebrew \ufb2a\u05dc\u05d5\u05dd plain \u05e9\u05dc\u05d5\u05dd",
]
PRESENTATION = re.compile("[\ufb00-\ufb06\ufb1d-\ufdff\ufe70-\ufefe]")
SPLIT = re.compile(r"[^\W\d_][-\u2010]\n[^\W\d_]")


def typeset() -> bytes:
    pdf = FPDF()
    pdf.add_font("dejavu", fname=FONT)
    pdf.set_font("dejavu", size=11)
    for lines in (LATIN, RTL):
        pdf.add_page()
        for row, line in enumerate(lines):
            pdf.text(15, 20 + row * 7, line)
    out = io.BytesIO()
    pdf.output(out)
    return out.getvalue()


def result(api: httpx.Client, data: bytes, **fields: str) -> dict[str, Any]:
    task_id = submit(api, data, "typeset.pdf", chunk_size=120, chunk_overlap=20, **fields)
    assert wait_terminal(api, task_id)["state"] == "succeeded"
    answer: dict[str, Any] = api.get(f"/v1/tasks/{task_id}/result").json()
    return answer


def test_both_engines_give_the_same_searchable_text(api: httpx.Client) -> None:
    data = typeset()
    results = {engine: result(api, data, engine=engine) for engine in ("pypdf", "pdfium")}
    for engine, answer in results.items():
        texts = [page["text"] for page in answer["pages"]]
        for text in texts + [chunk["text"] for chunk in answer["chunks"]]:
            assert not PRESENTATION.search(text), (engine, text)
            assert not SPLIT.search(text), (engine, text)
        latin = texts[0]
        for word in ("definition", "flow", "effort", "suffix", "baffle", "adipiscing", "hyphenated"):
            assert word in latin, (engine, word, latin)
        # Real compounds keep their hyphen, at a line end too (the document shows them mid-line).
        assert "Jean-Pierre" in latin
        assert latin.count("well-known") == 2, (engine, latin)
        # Spans index the normalized text.
        document = "\n\n".join(texts)
        for chunk in answer["chunks"]:
            assert document[chunk["char_start"] : chunk["char_end"]] == chunk["text"]
    words = {engine: answer["pages"][0]["text"].split() for engine, answer in results.items()}
    assert words["pypdf"] == words["pdfium"]


def test_right_to_left_text_is_folded_never_reordered(api: httpx.Client) -> None:
    data = typeset()
    for engine in ("pypdf", "pdfium"):
        raw = result(api, data, engine=engine, text_normalization="none")["pages"][1]["text"]
        normalized = result(api, data, engine=engine)["pages"][1]["text"]
        # Folding the presentation forms in place, letter for letter, is all that happened.
        folded = PRESENTATION.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), raw)
        assert normalized.split() == unicodedata.normalize("NFC", folded).split(), engine
        # The shaped Arabic word reads as its letters (in the order the engine gave them), and
        # the plain words are untouched.
        assert re.search("[\u0633][\u0644][\u0627][\u0645]|[\u0645][\u0627][\u0644][\u0633]", normalized)
        for plain in ("\u0645\u0631\u062d\u0628\u0627", "\u05e9\u05dc\u05d5\u05dd"):
            assert plain in raw or plain[::-1] in raw
            assert (plain in normalized) == (plain in raw)


def test_none_is_the_readers_raw_text_and_another_task(api: httpx.Client) -> None:
    data = typeset()
    standard = submit(api, data, "typeset.pdf", engine="pypdf")
    raw = submit(api, data, "typeset.pdf", engine="pypdf", text_normalization="none")
    assert standard != raw, "the normalization is part of dedupe"
    assert wait_terminal(api, raw)["state"] == "succeeded"
    text = api.get(f"/v1/tasks/{raw}/result").json()["pages"][0]["text"]
    assert "de\ufb01nition" in text
    assert "adip-\niscing" in text
    refused = api.post(
        "/v1/documents",
        files={"file": ("typeset.pdf", data, "application/pdf")},
        data={"text_normalization": "aggressive"},
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "validation_error"
