"""`Prefer: wait=N` on an upload (RFC 7240): the finished task in the same answer when it ends in
time, the usual 202 when it does not, the cap, failures, and the event-stream slots it takes."""

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from docqueue_api.documents.prefer import requested_wait_s
from tests.support.documents import corrupt_pdf, make_pdf
from tests.support.http import upload
from tests.support.keys import tenant_key
from tests.support.stacks import PrivateStack, private_stack


def test_a_quick_document_comes_back_finished_in_the_same_answer(api: httpx.Client) -> None:
    answer = upload(api, make_pdf(1, title="Quick"), "quick.pdf", headers={"Prefer": "wait=30"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["Preference-Applied"] == "wait=30"
    task = answer.json()
    assert task["state"] == "succeeded"
    assert task["progress"] == {"pages_done": 1, "pages_total": 1, "percent": 100.0}
    assert task["deduplicated"] is False
    assert answer.headers["Location"] == task["status_url"]
    # The same status GET /v1/tasks/{id} shows, and the result is there at once.
    assert api.get(task["status_url"]).json()["state"] == "succeeded"
    assert api.get(task["result_url"]).json()["document"]["title"] == "Quick"


def test_a_wait_over_the_cap_is_cut_to_it(api: httpx.Client) -> None:
    answer = upload(api, make_pdf(1), "capped.pdf", headers={"Prefer": "respond-async, wait=3600"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["Preference-Applied"] == "wait=30"


def test_a_failing_document_is_a_200_with_the_failed_state(api: httpx.Client) -> None:
    answer = upload(api, corrupt_pdf(), "broken.pdf", headers={"Prefer": "wait=30"})
    assert answer.status_code == 200, answer.text
    task = answer.json()
    assert task["state"] == "failed"
    assert task["error"]["code"] == "corrupt_document"


def test_a_duplicate_upload_that_already_finished_says_so(api: httpx.Client) -> None:
    document = make_pdf(2, title=f"dup {uuid.uuid4().hex}")
    first = upload(api, document, "dup.pdf", headers={"Prefer": "wait=30"})
    again = upload(api, document, "dup.pdf", headers={"Prefer": "wait=30"})
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["task_id"] == first.json()["task_id"]
    assert again.json()["deduplicated"] is True
    assert again.json()["state"] == "succeeded"


def test_without_a_valid_wait_the_answer_is_the_usual_202(api: httpx.Client) -> None:
    for prefer in ("wait=soon", "wait=-1", "wait=0", "handling=lenient"):
        answer = upload(api, make_pdf(1, title=prefer), "plain.pdf", headers={"Prefer": prefer})
        assert answer.status_code == 202, (prefer, answer.text)
        assert "Preference-Applied" not in answer.headers, prefer


@pytest.fixture(scope="module")
def workerless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateStack]:
    """An API whose queue nobody takes from, with one event-stream slot."""
    env = {"DOCQUEUE_SSE_MAX_STREAMS": "1", "DOCQUEUE_LOG_FORMAT": "json"}
    with private_stack(tmp_path_factory.mktemp("prefer"), env) as stack:
        yield stack


def client_of(stack: PrivateStack) -> httpx.Client:
    key = tenant_key(stack.redis)
    return httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def test_work_that_does_not_end_in_time_gets_the_usual_202(workerless: PrivateStack) -> None:
    with client_of(workerless) as api:
        answer = upload(api, make_pdf(1), "slow.pdf", headers={"Prefer": "wait=1"})
        assert answer.status_code == 202, answer.text
        assert answer.headers["Preference-Applied"] == "wait=1"
        assert answer.json()["state"] == "queued"
        # Accepted all the same: the task is there, queued.
        assert api.get(answer.json()["status_url"]).json()["state"] == "queued"


def test_a_wait_takes_an_event_stream_slot_and_is_skipped_when_none_is_free(
    workerless: PrivateStack, tmp_path: Path
) -> None:
    with client_of(workerless) as api:
        holding: list[httpx.Response] = []
        waiter = threading.Thread(
            target=lambda: holding.append(upload(api, make_pdf(1), "a.pdf", headers={"Prefer": "wait=4"}))
        )
        waiter.start()
        # The one slot is taken by the first upload's wait: an event stream is refused...
        task_id = wait_for_waiting_upload(api)
        stream = api.get(f"/v1/tasks/{task_id}/events")
        assert stream.status_code == 503, stream.text
        assert stream.json()["code"] == "too_many_streams"
        # ...and a second waiting upload is answered at once, without the wait.
        second = upload(api, make_pdf(1, title="second"), "b.pdf", headers={"Prefer": "wait=4"})
        assert second.status_code == 202
        assert "Preference-Applied" not in second.headers
        waiter.join(timeout=30)
    assert holding[0].status_code == 202
    assert holding[0].headers["Preference-Applied"] == "wait=4"


def wait_for_waiting_upload(api: httpx.Client) -> str:
    """The first upload's task id, once its wait holds the slot (the API's stream gauge says 1)."""
    for _ in range(200):
        metrics = httpx.get(str(api.base_url.join("/metrics")), timeout=10).text
        if "docqueue_sse_connections 1.0" in metrics:
            task_id: str = api.get("/v1/tasks").json()["items"][0]["task_id"]
            return task_id
        threading.Event().wait(0.05)
    raise AssertionError("the first upload never started waiting")


@pytest.mark.parametrize(
    ("headers", "wait_s"),
    [
        (["wait=10"], 10),
        (["WAIT = 5"], 5),
        (['wait="7"'], 7),
        (["respond-async, wait=3"], 3),
        (["handling=strict; x=y", "wait=2"], 2),
        (["wait=1, wait=9"], 1),  # the first occurrence wins
        (["wait=soon"], None),
        (["wait=-3"], None),
        (["wait"], None),
        (["waiting=3"], None),
        ([], None),
    ],
)
def test_the_wait_preference_is_read_as_rfc_7240_says(headers: list[str], wait_s: int | None) -> None:
    assert requested_wait_s(headers) == wait_s
