"""Losing the Redis master under load, with real sentinels: a master, a replica and three
`redis-server --sentinel` processes on loopback ports (docqueue_devstack.sentinel), the services
given a `redis+sentinel://` URL. Every test ends with the harness's invariants (every accepted job
terminal and readable, none lost, none written twice) and with the worker, beat and API having
reconnected to the new master without a restart."""

import threading
import time
from pathlib import Path

import httpx
import pytest
import redis

from docqueue import names
from docqueue_devstack.processes import wait_until
from tests.faults.harness import FaultStack, fault_stack
from tests.faults.test_beat_faults import holds_lock, lose_a_job
from tests.support.documents import labelled_pdf, make_pdf
from tests.support.http import submit

pytestmark = pytest.mark.faults


def assert_clean_refusal(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert int(answer.headers["Retry-After"]) > 0
    assert answer.json()["code"] == "service_unavailable"


def kill_master(fs: FaultStack) -> int:
    """SIGKILL the current master, as a node loss would; returns its port."""
    assert fs.cluster is not None
    master = fs.cluster.master
    master.kill()
    return master.port


def test_sigkill_of_the_master_with_100_documents_queued_and_running(tmp_path: Path) -> None:
    with fault_stack(tmp_path, sentinel=True) as fs:
        assert fs.cluster is not None
        fs.start_api()
        worker = fs.start_worker(concurrency=2, restart=True)
        beat = fs.start_beat()
        documents = [labelled_pdf(1200 if i % 10 == 0 else 3, f"doc {i}") for i in range(100)]
        with fs.client() as api:
            ids = [submit(api, document) for document in documents]
        assert fs.broker.llen(names.DOCUMENTS_QUEUE) > 10, "the queue drained before the fault"
        running = [task_id for task_id in ids if fs.job(task_id).get("state") == "running"]
        assert running, "nothing was running at the fault"
        old = kill_master(fs)
        new = fs.cluster.wait_failover(old)
        assert fs.cluster.server_on(new).role() == "master"
        with fs.client() as api:
            after = submit(api, make_pdf(2))  # accepted by the new master
        finals = fs.assert_invariants([*ids, after], bound_s=240)
        assert all(final["state"] == "succeeded" for final in finals.values()), {
            task_id: final["state"] for task_id, final in finals.items() if final["state"] != "succeeded"
        }
        fs.assert_reconnected(worker, beat)
        assert "Connected to sentinel://" in worker.log_tail(400)


def test_a_failover_in_the_middle_of_uploads_loses_nothing_it_accepted(tmp_path: Path) -> None:
    """Uploads keep arriving while the master dies: each one is either accepted (and then ends)
    or refused with a clean 503; none is accepted and then lost."""
    with fault_stack(tmp_path, sentinel=True) as fs:
        assert fs.cluster is not None
        fs.start_api()
        worker = fs.start_worker(concurrency=2, restart=True)
        beat = fs.start_beat()
        accepted: list[str] = []
        refused: list[httpx.Response] = []
        stop = threading.Event()

        def upload() -> None:
            with fs.client() as api:
                for i in range(400):
                    if stop.is_set():
                        return
                    answer = api.post(
                        "/v1/documents", files={"file": (f"u{i}.pdf", labelled_pdf(2, f"u{i}"))}
                    )
                    if answer.status_code == 202:
                        accepted.append(answer.json()["task_id"])
                    else:
                        refused.append(answer)
                        time.sleep(0.2)

        uploader = threading.Thread(target=upload)
        uploader.start()
        try:
            assert wait_until(lambda: len(accepted) >= 10, timeout_s=60)
            old = kill_master(fs)
            fs.cluster.wait_failover(old)
            before = len(accepted)
            assert wait_until(lambda: len(accepted) >= before + 10, timeout_s=60), "uploads never resumed"
        finally:
            stop.set()
            uploader.join(timeout=60)
        for answer in refused:
            assert_clean_refusal(answer)
        finals = fs.assert_invariants(accepted, bound_s=180)
        assert all(final["state"] == "succeeded" for final in finals.values())
        fs.assert_reconnected(worker, beat)


def test_a_failover_while_a_retry_is_scheduled(tmp_path: Path) -> None:
    env = {"DOCQUEUE_RETRY_BACKOFF_BASE_S": "4", "DOCQUEUE_RETRY_BACKOFF_MAX_S": "4"}
    with fault_stack(tmp_path, sentinel=True) as fs:
        assert fs.cluster is not None
        fs.env.update(env)
        fs.start_api()
        with fs.client() as api:
            task_id = submit(api, make_pdf(3))
        uploads = tmp_path / "stack" / "blobs" / "uploads"
        uploads.rename(uploads.with_suffix(".away"))
        uploads.write_text("not a directory")  # storage fails in a way worth retrying
        worker = fs.start_worker(restart=True)
        fs.wait_job(task_id, lambda j: j.get("state") == "retrying")
        old = kill_master(fs)
        uploads.unlink()
        uploads.with_suffix(".away").rename(uploads)
        fs.cluster.wait_failover(old)
        beat = fs.start_beat()
        finals = fs.assert_invariants([task_id], bound_s=150)
        assert finals[task_id]["state"] == "succeeded"
        events = [e["event"] for e in fs.history(task_id)]
        assert "retrying" in events
        assert events[-1] == "succeeded"
        fs.assert_reconnected(worker, beat)


def test_the_old_master_comes_back_as_a_replica_and_takes_no_writes(tmp_path: Path) -> None:
    with fault_stack(tmp_path, sentinel=True) as fs:
        assert fs.cluster is not None
        fs.start_api()
        worker = fs.start_worker(restart=True)
        with fs.client() as api:
            first = submit(api, make_pdf(2))
        fs.wait_job(first, lambda j: j.get("state") == "succeeded")
        old = kill_master(fs)
        fs.cluster.wait_failover(old)
        returned = fs.cluster.server_on(old)
        returned.start()  # it starts believing it is still the master
        assert wait_until(lambda: returned.role() == "slave", timeout_s=60), "the sentinels never demoted it"
        # One master again, which every sentinel names, and its replica in sync. (On a loaded
        # machine the sentinels may fail over once more, back to the returned server: still one
        # master, still no write anywhere else.)
        assert wait_until(fs.cluster.settled, timeout_s=60), "no stable master"
        with fs.client() as api:
            second = submit(api, make_pdf(3))
        finals = fs.assert_invariants([first, second])
        assert finals[second]["state"] == "succeeded"
        # Every write went to the master and reached the other server only by replication.
        master = fs.cluster.master
        replica = next(server for server in fs.cluster.servers if server is not master)
        job = f"docqueue:job:{second}"
        assert wait_until(lambda: replica.client().hget(job, "state") == b"succeeded", timeout_s=30)
        assert master.client().hget(job, "state") == b"succeeded"
        with pytest.raises(redis.ReadOnlyError):
            replica.client().set("docqueue:split-brain-probe", "1")
        fs.assert_reconnected(worker)


def test_quorum_lost_gives_clean_503s_and_recovers_when_it_returns(tmp_path: Path) -> None:
    with fault_stack(tmp_path, sentinel=True) as fs:
        assert fs.cluster is not None
        fs.start_api()
        worker = fs.start_worker(restart=True)
        beat = fs.start_beat()
        with fs.client() as api:
            first = submit(api, make_pdf(2))
            fs.wait_job(first, lambda j: j.get("state") == "succeeded")
            # Two of three sentinels gone: the master still serves, but no failover is possible.
            for sentinel in fs.cluster.sentinels[1:]:
                sentinel.stop()
            old = kill_master(fs)
            assert wait_until(
                lambda: api.post("/v1/documents", files={"file": ("a.pdf", make_pdf(4))}).status_code == 503,
                timeout_s=30,
            )
            time.sleep(3)  # longer than down-after: a quorum would have failed over by now
            assert fs.cluster.sentinels[0].master_port_seen() == old
            refused = api.post("/v1/documents", files={"file": ("b.pdf", make_pdf(5))})
            assert_clean_refusal(refused)
            assert httpx.get(f"{fs.api_url}/readyz", timeout=10).status_code == 503
            for sentinel in fs.cluster.sentinels[1:]:
                sentinel.start()
            fs.cluster.wait_failover(old)
            assert wait_until(
                lambda: httpx.get(f"{fs.api_url}/readyz", timeout=10).status_code == 200, timeout_s=30
            )
            second = submit(api, make_pdf(6))
        finals = fs.assert_invariants([first, second], bound_s=120)
        assert finals[second]["state"] == "succeeded"
        fs.assert_reconnected(worker, beat)


def test_redbeat_keeps_one_leader_across_a_failover(tmp_path: Path) -> None:
    with fault_stack(tmp_path, sentinel=True) as fs:
        assert fs.cluster is not None
        fs.env["DOCQUEUE_BEAT_LOCK_TIMEOUT_S"] = "5"
        fs.start_api()
        beats = [fs.start_beat("beat-a"), fs.start_beat("beat-b")]
        assert wait_until(lambda: any(holds_lock(b) for b in beats), timeout_s=20)
        old = kill_master(fs)
        fs.cluster.wait_failover(old)
        time.sleep(6)  # past the lock timeout: a beat that lost track would have given up by now
        # The schedule still runs after the failover, once: a lost message is re-queued exactly once.
        lost = lose_a_job(fs, "after the failover")
        worker = fs.start_worker(restart=True)
        finals = fs.assert_invariants([lost], bound_s=120)
        assert finals[lost]["state"] == "succeeded"
        assert [e["event"] for e in fs.history(lost)].count("requeued") == 1
        assert [holds_lock(b) for b in beats].count(True) <= 2
        fs.assert_reconnected(worker, *beats)


def test_an_upload_is_answered_only_once_a_replica_holds_it(tmp_path: Path) -> None:
    """DOCQUEUE_REDIS_REPLICA_ACKS=1: with the replica away the upload is a 503 whose retry
    finds the same task, which then runs; nothing the API accepted waits on the master alone."""
    with fault_stack(tmp_path, sentinel=True) as fs:
        assert fs.cluster is not None
        fs.start_api(env={"DOCQUEUE_REDIS_REPLICA_ACKS": "1", "DOCQUEUE_REDIS_REPLICA_ACK_TIMEOUT_MS": "300"})
        worker = fs.start_worker(restart=True)
        replica = fs.cluster.servers[1]
        with fs.client() as api:
            first = submit(api, make_pdf(2))
            replica.stop()
            document, key = make_pdf(7), {"Idempotency-Key": "replica-away-1"}
            refused = api.post("/v1/documents", files={"file": ("r.pdf", document)}, headers=key)
            assert_clean_refusal(refused)
            assert "0 of 1 Redis replicas" in refused.json()["detail"]
            replica.start()
            assert wait_until(fs.cluster.replica_in_sync, timeout_s=30)
            retried = api.post("/v1/documents", files={"file": ("r.pdf", document)}, headers=key)
            assert retried.status_code in (200, 202), retried.text
            second = retried.json()["task_id"]
            # The same document and options without the key: dedupe names the same task.
            again = api.post("/v1/documents", files={"file": ("r.pdf", document)})
            assert again.json()["task_id"] == second
        finals = fs.assert_invariants([first, second])
        assert all(final["state"] == "succeeded" for final in finals.values())
        assert len(list((tmp_path / "stack" / "blobs" / "results").iterdir())) == 2
        fs.assert_reconnected(worker)
