"""Hostile Office, web and e-book documents through the real worker: each ends in its documented
code within its bound (docs/security.md lists the same table), no file outside the upload is ever
read, the pool process stays under its memory cap, and the next document succeeds."""

import pytest

from tests.hostile import formats
from tests.hostile.conftest import MIB, HostileStack
from tests.hostile.corpus import Case, run_contained
from tests.hostile.test_hostile_pdfs import wait_all
from tests.support.formats import OUTLINE, make_docx, outline_words
from tests.support.scans import recall

CORPUS: dict[str, Case] = {
    "DOCX zip bomb (1 GiB of XML)": Case(formats.docx_zip_bomb, "bomb.docx", "document_too_complex", 10),
    "DOCX with a billion-laughs entity": Case(
        formats.docx_billion_laughs, "lol.docx", "document_too_complex", 10
    ),
    "DOCX with an XXE pointing at /etc/passwd": Case(
        formats.docx_xxe, "xxe.docx", "document_too_complex", 10
    ),
    "DOCX of 20 000 zip entries": Case(formats.docx_many_entries, "many.docx", "document_too_complex", 10),
    "XLSX with 1 048 576 rows": Case(formats.xlsx_million_rows, "rows.xlsx", "document_too_complex", 10),
    "HTML page of 1 000 000 nested divs": Case(formats.html_nested, "deep.html", "document_too_complex", 10),
    "ODT with a billion-laughs entity": Case(
        formats.odt_billion_laughs, "lol.odt", "document_too_complex", 10
    ),
}


@pytest.mark.timeout(300)
def test_hostile_documents_are_contained(hostile: HostileStack) -> None:
    # The nested page is 11 MB: an API of the same stack with a larger upload cap.
    url = hostile.start_api({"DOCQUEUE_MAX_UPLOAD_BYTES": str(16 * MIB)})
    with hostile.client(url=url) as api:
        tasks = run_contained(api, hostile, CORPUS)
        for name, task in tasks.items():
            # The refusal says which limit, never what a file outside the upload holds.
            message = task["error"]["message"]
            assert "root:" not in message
            assert "exceeds a parsing limit" in message, (name, message)

        # A book whose spine loops through two chapters 5 000 times: each chapter read once.
        loop = api.post("/v1/documents", files={"file": ("loop.epub", formats.epub_loop())}).json()["task_id"]
        # And the next, ordinary document is read whole.
        task_id = api.post("/v1/documents", files={"file": ("next.docx", make_docx(OUTLINE))}).json()[
            "task_id"
        ]
        after = wait_all(api, {"loop": loop, "next": task_id}, timeout_s=60)
        assert after["loop"]["state"] == "succeeded", after["loop"]
        looped = api.get(f"/v1/tasks/{loop}/result").json()
        assert [page["text"].splitlines()[0] for page in looped["pages"]] == ["Loop one", "Loop two"]
        assert after["next"]["state"] == "succeeded"
        result = api.get(f"/v1/tasks/{task_id}/result").json()
        assert recall(outline_words(), "\n".join(page["text"] for page in result["pages"])) >= 0.95


def test_a_zip_that_is_not_a_document_is_refused_at_upload(hostile: HostileStack) -> None:
    with hostile.client() as api:
        answer = api.post("/v1/documents", files={"file": ("x.docx", formats.zip_named_docx())})
    assert answer.status_code == 415
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "unsupported_media_type"
