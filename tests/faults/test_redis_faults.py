"""Redis stopped, restarted and wiped under load: every accepted job still ends exactly once,
and the worker, beat and API reconnect instead of restarting.

Workers here run as Kubernetes runs them (restarted if they exit), and each test that takes Redis
away asserts they never needed it: kombu used to end a worker with "Unrecoverable error" when the
broker connection dropped while it held unacked messages (docqueue.kombu_redis says why and how
our transport avoids it); the reconciler heals the messages that could not be restored.
"""

import shutil
import time
from pathlib import Path

import httpx
import pytest

from docqueue import names
from tests.faults.harness import fault_stack
from tests.support.documents import labelled_pdf, make_pdf
from tests.support.http import submit

pytestmark = pytest.mark.faults


def test_redis_down_during_an_upload_is_a_clean_503(tmp_path: Path) -> None:
    with fault_stack(tmp_path) as fs:
        fs.start_api()
        fs.start_worker(restart=True)
        fs.start_beat()
        with fs.client() as api:
            first = submit(api, make_pdf(1))
            fs.redis_server.stop()
            refused = api.post("/v1/documents", files={"file": ("a.pdf", make_pdf(2))})
            assert refused.status_code == 503
            assert refused.headers["content-type"] == "application/problem+json"
            assert int(refused.headers["Retry-After"]) > 0
            assert refused.json()["code"] == "service_unavailable"
            uploads = tmp_path / "stack" / "blobs" / "uploads"
            assert len(list(uploads.iterdir())) == 1, "the refused upload left a blob behind"
            assert httpx.get(f"{fs.api_url}/readyz").status_code == 503
            assert httpx.get(f"{fs.api_url}/healthz").status_code == 200
            fs.redis_server.start()
            task_id = submit(api, make_pdf(2))
        fs.assert_invariants([first, task_id])


def test_redis_restarted_with_aof_mid_run(tmp_path: Path) -> None:
    with fault_stack(tmp_path) as fs:
        fs.start_api()
        worker = fs.start_worker(concurrency=2, restart=True)
        beat = fs.start_beat()
        with fs.client() as api:
            ids = [submit(api, labelled_pdf(pages, f"doc {pages}")) for pages in (1200, 900, 5, 7, 9, 11)]
        fs.wait_job(ids[0], lambda j: j.get("state") == "running" and int(j.get("pages_done", 0)) > 0)
        fs.redis_server.stop()  # SIGTERM: Redis flushes its AOF and exits
        time.sleep(2)
        fs.redis_server.start()  # same port, same directory: the AOF is replayed
        finals = fs.assert_invariants(ids, bound_s=120)
        assert all(final["state"] == "succeeded" for final in finals.values()), finals
        fs.assert_reconnected(worker, beat)


def test_broker_wiped_by_a_restart_without_persistence(tmp_path: Path) -> None:
    """The broker loses every queued message; the reconciler re-enqueues every job."""
    with fault_stack(tmp_path, separate_broker=True) as fs:
        fs.start_api()
        with fs.client() as api:
            ids = [submit(api, labelled_pdf(2, f"doc {i}")) for i in range(5)]
        assert fs.broker.llen(names.DOCUMENTS_QUEUE) == 5
        assert fs.broker_server is not None
        fs.broker_server.restart()
        assert fs.broker.llen(names.DOCUMENTS_QUEUE) == 0
        fs.start_beat()
        fs.start_worker(restart=True)
        finals = fs.assert_invariants(ids)
        assert all(final["state"] == "succeeded" for final in finals.values())
        for task_id in ids:
            assert [e["event"] for e in fs.history(task_id)].count("requeued") == 1


def test_redis_down_while_a_retry_is_scheduled(tmp_path: Path) -> None:
    env = {"DOCQUEUE_RETRY_BACKOFF_BASE_S": "4", "DOCQUEUE_RETRY_BACKOFF_MAX_S": "4"}
    with fault_stack(tmp_path) as fs:
        fs.env.update(env)
        fs.start_api()
        with fs.client() as api:
            task_id = submit(api, make_pdf(3))
        # Storage fails in a way worth retrying: the uploads directory is not a directory.
        uploads = tmp_path / "stack" / "blobs" / "uploads"
        shutil.move(uploads, uploads.with_suffix(".away"))
        uploads.write_text("not a directory")
        # The worker holds the retry's countdown message when the broker connection drops: the
        # case that used to end it with "Unrecoverable error" (docqueue.kombu_redis).
        worker = fs.start_worker(restart=True)
        retrying = fs.wait_job(task_id, lambda j: j.get("state") == "retrying")
        assert retrying["attempts"] == "1"
        assert "retrying in" in retrying["error_message"]
        fs.redis_server.stop()
        uploads.unlink()
        shutil.move(uploads.with_suffix(".away"), uploads)
        time.sleep(3)
        fs.redis_server.start()
        beat = fs.start_beat()
        finals = fs.assert_invariants([task_id], bound_s=150)
        assert finals[task_id]["state"] == "succeeded"
        events = [e["event"] for e in fs.history(task_id)]
        assert events[0] == "created"
        assert "retrying" in events
        assert events[-1] == "succeeded"
        fs.assert_reconnected(worker, beat)


def test_sigkill_of_redis_with_aof_everysec(tmp_path: Path) -> None:
    """A crash loses at most the last second of writes; jobs accepted before it still end."""
    with fault_stack(tmp_path) as fs:
        fs.start_api()
        worker = fs.start_worker(concurrency=2, restart=True)
        beat = fs.start_beat()
        with fs.client() as api:
            ids = [submit(api, labelled_pdf(600, f"doc {i}")) for i in range(3)]
        time.sleep(1.5)  # past one AOF fsync: the three jobs are on disk
        fs.redis_server.kill()
        time.sleep(1)
        fs.redis_server.start()
        finals = fs.assert_invariants(ids, bound_s=150)
        assert all(final["state"] == "succeeded" for final in finals.values()), finals
        fs.assert_reconnected(worker, beat)
