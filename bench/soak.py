"""Soak: submit many documents while killing and restarting workers at random, then count.

    uv run python bench/soak.py --documents 2000 --max-minutes 20
    uv run python bench/soak.py --documents 600 --failovers 3 --max-minutes 15

Everything runs on this machine (its own Redis with AOF, API, beat and workers, all on
127.0.0.1) and is stopped by PID at the end. The run is bounded: by --documents, and by
--max-minutes for submission plus draining. It prints, and writes to bench/results/soak.json:
accepted, succeeded, failed, dead-lettered, lost (accepted but never terminal: must be 0) and
duplicated (more than one result or more than one terminal transition for a job: must be 0).

With `--failovers N` Redis is a master, a replica and three sentinels (docqueue_devstack.sentinel)
and the services get its `redis+sentinel://` URL; N times during the run the master is SIGKILLed,
the sentinels promote the replica, and the old master is started again (it returns as a replica).
"""

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import redis

from docqueue.auth import Scope, generate_api_key, store_api_key
from docqueue.jobs import keys
from docqueue.redis_url import redis_client
from docqueue.text import as_text
from docqueue_devstack.processes import Process, wait_until
from docqueue_devstack.profiles import FAULT_ENV
from docqueue_devstack.redis_server import RedisServer
from docqueue_devstack.sentinel import SentinelCluster
from docqueue_devstack.stack import Stack

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
from bench.pdfs import corrupt_pdf, labelled_pdf  # noqa: E402

TERMINAL = {"succeeded", "failed", "cancelled", "dead_lettered"}
# Jobs left when the chaos stops, so the run ends with every worker standing.
CALM_AT = 20
# The fault suite's short timeouts, so killed work comes back in seconds; no rate limit.
SOAK_ENV = {
    **FAULT_ENV,
    "DOCQUEUE_RATE_LIMIT_PER_S": "0",
    "DOCQUEUE_MAX_QUEUE_DEPTH": "100000",
}


def document(index: int, rng: random.Random) -> tuple[str, bytes]:
    """Mostly PDFs of 1-80 pages, some text, some corrupt: every one distinct."""
    roll = rng.random()
    if roll < 0.05:
        return f"broken-{index}.pdf", corrupt_pdf() + str(index).encode()
    if roll < 0.15:
        return f"notes-{index}.txt", f"Soak note {index}.\n\n".encode() * rng.randint(1, 50)
    return f"doc-{index}.pdf", labelled_pdf(rng.randint(1, 80), f"soak {index}")


ACTIONS = ("sigkill-child", "sigkill-worker", "sigterm-worker")


class Chaos(threading.Thread):
    """Every few seconds, kill a worker (SIGKILL), kill one of its pool processes, or stop it
    (SIGTERM); then start a replacement, as a deployment's restart policy would."""

    def __init__(self, stack: Stack, workers: list[Process], rng: random.Random, store: redis.Redis) -> None:
        super().__init__(name="soak-chaos", daemon=True)
        self.stack, self.workers, self.rng, self.store = stack, workers, rng, store
        self.stop_event = threading.Event()
        self.actions: Counter[str] = Counter()
        self.generation = 0

    def run(self) -> None:
        while not self.stop_event.wait(self.rng.uniform(1.0, 3.0)):
            slot = self.rng.randrange(len(self.workers))
            worker = self.workers[slot]
            action = self.rng.choices(ACTIONS, weights=(2, 1, 1))[0]
            if action == "sigkill-child" and self._kill_a_running_child():
                self.actions[action] += 1
                continue
            if action == "sigterm-worker":
                worker.stop(timeout_s=20)
            else:
                worker.stop(timeout_s=0, signum=signal.SIGKILL)
            self.actions[action] += 1
            time.sleep(self.rng.uniform(0.5, 2.0))
            self.generation += 1
            self.workers[slot] = self.stack.start_worker(name=f"soak-{slot}-{self.generation}", concurrency=2)

    def _kill_a_running_child(self) -> bool:
        try:
            active: list[Any] = self.store.zrange(keys.ACTIVE_JOBS, 0, 50)
            jobs: list[dict[Any, Any]] = [self.store.hgetall(keys.job(as_text(raw))) for raw in active]
        except redis.RedisError:  # Redis failing over: kill a whole worker instead
            return False
        for job in jobs:
            holder, state = job.get(b"holder"), job.get(b"state")
            if holder and state == b"running":
                try:
                    os.kill(int(as_text(holder).rpartition(":")[2]), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    return False
                return True
        return False


class Failovers(threading.Thread):
    """`count` times, `interval_s` apart: SIGKILL the master, wait for the sentinels to promote
    the replica, start the old master again and wait until it is a replica in sync."""

    def __init__(self, cluster: SentinelCluster, count: int, interval_s: float) -> None:
        super().__init__(name="soak-failovers", daemon=True)
        self.cluster, self.count, self.interval_s = cluster, count, interval_s
        self.stop_event = threading.Event()
        self.done: list[dict[str, float]] = []

    def run(self) -> None:
        for _ in range(self.count):
            if self.stop_event.wait(self.interval_s):
                return
            master = self.cluster.master
            killed = time.monotonic()
            master.kill()
            self.cluster.wait_failover(master.port, timeout_s=120)
            promoted = time.monotonic() - killed
            master.start()
            wait_until(self.cluster.replica_in_sync, timeout_s=60)
            self.done.append({"promoted_after_s": round(promoted, 2)})


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-minutes", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--failovers", type=int, default=0, help="master failovers during the run (Sentinel)")
    parser.add_argument("--failover-interval-s", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "soak.json")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    deadline = time.monotonic() + args.max_minutes * 60
    started = time.monotonic()

    with tempfile.TemporaryDirectory(prefix="docqueue-soak-") as tmp:
        root = Path(tmp)
        cluster: SentinelCluster | None = None
        if args.failovers:
            cluster = SentinelCluster(root / "sentinel").start()
            url = cluster.url
        else:
            server = RedisServer(root / "redis", appendonly=True).start()
            url = server.url
        stack = Stack(redis_url=url, run_dir=root / "stack", env=SOAK_ENV)
        store = redis_client(url, socket_timeout=5, socket_connect_timeout=2)
        chaos: Chaos | None = None
        failovers: Failovers | None = None
        try:
            _, api_url = stack.start_api()
            stack.start_beat()
            workers = [stack.start_worker(name=f"soak-{i}", concurrency=2) for i in range(args.workers)]
            key = generate_api_key()
            store_api_key(store, key, "soak", set(Scope))
            chaos = Chaos(stack, workers, rng, store)
            chaos.start()
            if cluster is not None:
                failovers = Failovers(cluster, args.failovers, args.failover_interval_s)
                failovers.start()
            accepted, refused = submit_all(api_url, key, args.documents, rng, deadline)
            # Chaos goes on while the backlog drains, and stops for the last few jobs so the run
            # ends with workers standing.
            finals = drain(store, accepted, deadline, calm_at=CALM_AT, chaos=chaos)
            if failovers is not None:
                failovers.join(timeout=300)
            report = count(store, root / "stack" / "blobs", accepted, refused, finals, chaos.actions)
            if failovers is not None:
                report["failovers"] = failovers.done
        finally:
            if chaos is not None:
                chaos.stop_event.set()
            if failovers is not None:
                failovers.stop_event.set()
            stack.stop()
            if cluster is not None:
                cluster.stop()
            else:
                server.stop()
    report["seconds"] = round(time.monotonic() - started, 1)
    report["command"] = "uv run python bench/soak.py " + " ".join(sys.argv[1:])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print_report(report)
    sys.exit(0 if report["lost"] == 0 and report["duplicated"] == 0 else 1)


def submit_all(
    api_url: str, key: str, count_: int, rng: random.Random, deadline: float
) -> tuple[list[str], Counter[str]]:
    documents = [document(i, rng) for i in range(count_)]
    refused: Counter[str] = Counter()
    accepted: list[str] = []
    lock = threading.Lock()

    def upload(item: tuple[str, bytes]) -> None:
        name, data = item
        with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
            for _ in range(20):  # a 503 while workers restart is an answer to come back later
                if time.monotonic() > deadline:
                    break
                response = client.post("/v1/documents", files={"file": (name, data)})
                if response.status_code in (200, 202):
                    with lock:
                        accepted.append(response.json()["task_id"])
                    return
                if response.status_code != 503:
                    break
                time.sleep(float(response.headers.get("Retry-After", "1")))
            with lock:
                refused[str(response.status_code)] += 1

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(upload, documents))
    return accepted, refused


def drain(
    store: redis.Redis, accepted: list[str], deadline: float, calm_at: int, chaos: Chaos
) -> dict[str, str]:
    finals: dict[str, str] = {}
    while time.monotonic() < deadline:
        if len(accepted) - len(finals) <= calm_at and not chaos.stop_event.is_set():
            chaos.stop_event.set()
            chaos.join(timeout=60)
        pipe = store.pipeline(transaction=False)
        pending = [task_id for task_id in accepted if task_id not in finals]
        for task_id in pending:
            pipe.hget(keys.job(task_id), "state")
        try:
            states = pipe.execute()
        except redis.RedisError:  # a failover in progress: ask again in a second
            time.sleep(1.0)
            continue
        for task_id, state in zip(pending, states, strict=True):
            if state is not None and state.decode() in TERMINAL:
                finals[task_id] = state.decode()
        if len(finals) == len(accepted):
            break
        time.sleep(1.0)
    return finals


def count(
    store: redis.Redis,
    blobs: Path,
    accepted: list[str],
    refused: Counter[str],
    finals: dict[str, str],
    actions: Counter[str],
) -> dict[str, Any]:
    states = Counter(finals.values())
    duplicated = 0
    for task_id in accepted:
        results = list((blobs / "results" / task_id).glob("*.json"))
        history = [json.loads(e)["event"] for e in store.lrange(keys.job_history(task_id), 0, -1)]
        ended = sum(1 for event in history if event in TERMINAL)
        if len(results) > 1 or ended > 1 or (finals.get(task_id) == "succeeded" and len(results) != 1):
            duplicated += 1
    attempts = [int(store.hget(keys.job(t), "attempts") or 0) for t in accepted]
    return {
        "accepted": len(accepted),
        "refused": dict(refused),
        "succeeded": states["succeeded"],
        "failed": states["failed"],
        "dead_lettered": states["dead_lettered"],
        "cancelled": states["cancelled"],
        "lost": len(accepted) - len(finals),
        "duplicated": duplicated,
        "redelivered_jobs": sum(1 for a in attempts if a > 1),
        "chaos": dict(actions),
    }


def print_report(report: dict[str, Any]) -> None:
    width = max(len(name) for name in report)
    for name, value in report.items():
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
