"""Two lanes: uploads of `bulk_min_bytes` and more wait in `documents.bulk`, smaller ones in
`documents`, a source not fetched yet in `documents.bulk`, and a worker consuming both takes the
interactive lane first (docqueue.lanes)."""

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from docqueue import names
from docqueue.celery_app import celery_config
from docqueue.lanes import document_queue, job_queue
from docqueue.settings import Settings
from tests.conftest import TEST_ENV
from tests.support.documents import labelled_pdf
from tests.support.held_jobs import new_job
from tests.support.http import submit, wait_terminal
from tests.support.keys import tenant_key
from tests.support.stacks import PrivateStack, private_stack

# Bulk: a document of this size or more. The slow documents below are far larger, the small one
# far smaller.
BULK_MIN_BYTES = 200_000


def test_the_lane_follows_the_size() -> None:
    settings = Settings(bulk_min_bytes=1000)
    assert document_queue(999, settings) == names.DOCUMENTS_QUEUE
    assert document_queue(1000, settings) == names.BULK_QUEUE
    assert document_queue(10**9, Settings(bulk_min_bytes=0)) == names.DOCUMENTS_QUEUE
    # kombu asks for the queues in the order the worker names them, never rotated.
    assert celery_config(settings)["broker_transport_options"]["queue_order_strategy"] == "priority"


def test_a_source_waits_in_the_bulk_lane_until_its_size_is_known() -> None:
    settings = Settings(bulk_min_bytes=1000)
    # A source's record as the API writes it: no bytes yet.
    source = new_job("t").model_copy(update={"source_url": "https://docs.example.com/a.pdf", "size_bytes": 0})
    assert job_queue(source, settings) == names.BULK_QUEUE  # unknown size, a fetch of unknown length
    fetched = source.model_copy(update={"size_bytes": 500})
    assert job_queue(fetched, settings) == names.DOCUMENTS_QUEUE  # a re-queue after its fetch
    assert job_queue(source, Settings(bulk_min_bytes=0)) == names.DOCUMENTS_QUEUE  # one lane only
    upload = new_job("t")
    assert job_queue(upload, settings) == document_queue(upload.size_bytes, settings)


@pytest.fixture
def lanes(tmp_path: Path) -> Iterator[PrivateStack]:
    env = {**TEST_ENV, "DOCQUEUE_BULK_MIN_BYTES": str(BULK_MIN_BYTES)}
    with private_stack(tmp_path, env) as private:
        yield private


def test_small_uploads_overtake_a_bulk_backlog(lanes: PrivateStack) -> None:
    """Three small uploads behind four bulk ones: one worker process takes all three first. With
    kombu's default round-robin order it would alternate lanes after every message."""
    key = tenant_key(lanes.redis)
    with httpx.Client(base_url=lanes.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as api:
        big = [labelled_pdf(1200, f"bulk {i}") for i in range(4)]
        assert all(len(document) >= BULK_MIN_BYTES for document in big)
        bulk = [submit(api, document) for document in big]
        small = [submit(api, labelled_pdf(1, f"in a hurry {i}")) for i in range(3)]
        assert lanes.redis.llen(names.BULK_QUEUE) == 4
        assert lanes.redis.llen(names.DOCUMENTS_QUEUE) == 3
        # One worker process consuming both lanes, as the chart's worker does.
        lanes.stack.start_worker(concurrency=1, env={"DOCQUEUE_QUEUES": "documents,documents.bulk"})
        hurried = [wait_terminal(api, task_id, timeout_s=120) for task_id in small]
        assert all(task["state"] == "succeeded" for task in hurried)
        last_small = max(datetime.fromisoformat(task["finished_at"]) for task in hurried)
        finals = [wait_terminal(api, task_id, timeout_s=240) for task_id in bulk]
        assert all(final["state"] == "succeeded" for final in finals)
        first_bulk = min(datetime.fromisoformat(final["started_at"]) for final in finals)
        assert first_bulk >= last_small, (hurried, finals)
