"""Upload → poll → result against a real API and a real `celery worker` over real HTTP."""

import hashlib

import httpx

from tests.support.documents import corrupt_pdf, make_pdf, page_text
from tests.support.http import submit, upload, wait_terminal


def test_multi_page_pdf_round_trip(api: httpx.Client) -> None:
    data = make_pdf(12, title="Quarterly report", author="Ada")
    response = upload(api, data, "report.pdf", chunk_size=400, chunk_overlap=50)
    assert response.status_code == 202
    accepted = response.json()
    assert accepted["state"] == "queued"
    assert response.headers["Location"] == accepted["status_url"]
    assert accepted["result_url"].endswith(f"/v1/tasks/{accepted['task_id']}/result")

    task = wait_terminal(api, accepted["task_id"])
    assert task["state"] == "succeeded", task
    assert task["progress"] == {"pages_done": 12, "pages_total": 12, "percent": 100.0}
    assert task["attempts"] == 1
    assert task["error"] is None
    assert task["started_at"]
    assert task["finished_at"]

    result = api.get(f"/v1/tasks/{accepted['task_id']}/result").json()
    document = result["document"]
    assert document["page_count"] == 12
    assert document["sha256"] == hashlib.sha256(data).hexdigest()
    assert document["title"] == "Quarterly report"
    assert document["author"] == "Ada"
    assert [page["number"] for page in result["pages"]] == list(range(1, 13))
    assert result["pages"][4]["text"].startswith("Page 5 begins.")
    chunks = result["chunks"]
    assert len(chunks) > 12
    full_text = "\n\n".join(page["text"] for page in result["pages"])
    for chunk in chunks:
        assert len(chunk["text"]) <= 400
        assert full_text[chunk["char_start"] : chunk["char_end"]] == chunk["text"]
        assert 1 <= chunk["page_start"] <= chunk["page_end"] <= 12
    assert chunks[-1]["page_end"] == 12
    assert [c["index"] for c in chunks] == list(range(len(chunks)))


def test_result_is_409_until_succeeded(api: httpx.Client) -> None:
    task_id = submit(api, make_pdf(400))
    early = api.get(f"/v1/tasks/{task_id}/result")
    assert early.status_code == 409
    assert early.headers["content-type"] == "application/problem+json"
    assert early.json()["code"] == "task_not_succeeded"
    assert wait_terminal(api, task_id)["state"] == "succeeded"
    assert api.get(f"/v1/tasks/{task_id}/result").status_code == 200


def test_progress_moves_monotonically_to_100(api: httpx.Client) -> None:
    task_id = submit(api, make_pdf(600))
    seen: list[tuple[int, float]] = []
    stages: list[str] = []
    while True:
        body = api.get(f"/v1/tasks/{task_id}").json()
        seen.append((body["progress"]["pages_done"], body["progress"]["percent"]))
        stages.append(body["stage"])
        if body["state"] in ("succeeded", "failed", "dead_lettered"):
            break
    assert body["state"] == "succeeded"
    assert seen == sorted(seen), "progress went backwards"
    assert seen[-1] == (600, 100.0)
    # Intermediate progress was visible: neither only 0 nor only 100.
    assert any(0 < pages < 600 for pages, _ in seen), seen[:: max(1, len(seen) // 20)]
    order = ["queued", "extracting", "chunking", "storing", "done"]
    observed = [order.index(stage) for stage in stages]
    assert observed == sorted(observed)


def test_upload_answers_before_processing(api: httpx.Client) -> None:
    response = upload(api, make_pdf(100))
    assert response.status_code == 202
    assert response.json()["state"] == "queued"


def test_plain_text_and_markdown(api: httpx.Client) -> None:
    text = "First paragraph about queues.\n\nSecond paragraph about workers.\n"
    txt = wait_terminal(api, submit(api, text.encode(), "notes.txt"))
    assert txt["state"] == "succeeded"
    assert txt["media_type"] == "text/plain"
    md = wait_terminal(api, submit(api, b"# Title\n\nSome *markdown* text.\n", "readme.md"))
    assert md["state"] == "succeeded"
    assert md["media_type"] == "text/markdown"
    result = api.get(f"/v1/tasks/{md['task_id']}/result").json()
    source = "# Title\n\nSome *markdown* text.\n"
    assert result["pages"] == [
        {"number": 1, "text": source, "markdown": source, "method": "text", "ocr_confidence": None}
    ]
    assert result["document"]["format"] == "markdown"
    assert result["chunks"][0]["text"] == "# Title\n\nSome *markdown* text."


def test_corrupt_pdf_fails_without_retry(api: httpx.Client) -> None:
    task = wait_terminal(api, submit(api, corrupt_pdf(), "broken.pdf"))
    assert task["state"] == "failed"
    assert task["error"]["code"] == "corrupt_document"
    assert task["error"]["retryable"] is False
    assert task["attempts"] == 1


def test_encrypted_pdf_fails_with_its_code(api: httpx.Client) -> None:
    task = wait_terminal(api, submit(api, make_pdf(2, user_password="secret"), "locked.pdf"))
    assert task["state"] == "failed"
    assert task["error"]["code"] == "encrypted_document"
    assert task["attempts"] == 1


def test_pdf_with_empty_user_password_is_read(api: httpx.Client) -> None:
    task = wait_terminal(api, submit(api, make_pdf(2, user_password=""), "owner-only.pdf"))
    assert task["state"] == "succeeded"
    result = api.get(f"/v1/tasks/{task['task_id']}/result").json()
    assert result["pages"][1]["text"].startswith(page_text(2)[:20])
