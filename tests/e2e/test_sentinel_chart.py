"""The chart's bundled Redis with Sentinel (redis.architecture=sentinel), its start scripts run
for real: three containers of the Redis image on a network of their own stand for the three pods
(each the pod's two containers in one: its Redis and its Sentinel share a name and an address,
as containers of one pod do), named as the StatefulSet names them, with exactly the scripts and
environment the chart renders. The API and a worker from their images take the rendered
`redis+sentinel://` URL. The master's container is killed: the sentinels promote a replica, the
services follow it, and the killed pod comes back as a replica of the new master."""

import contextlib
import secrets
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import docker.errors  # type: ignore[import-untyped]
import httpx
import pytest
from testcontainers.core.network import Network

from docqueue_devstack.processes import http_ok, wait_until
from tests.chart.render import RELEASE, env_of, named, render
from tests.e2e.containers import Container
from tests.e2e.engine import Engine
from tests.support.documents import make_pdf
from tests.support.http import submit, wait_terminal

pytestmark = pytest.mark.timeout(900)

SETS = [
    "redis.architecture=sentinel",
    # Seconds, not the chart's five: the test waits for a failover.
    "redis.sentinel.downAfterMilliseconds=2000",
    "redis.sentinel.failoverTimeout=10000",
]


def rendered() -> list[Any]:
    return render(sets=SETS)


def node_env(resources: list[Any], password: str) -> dict[str, str]:
    """The sentinel container's environment as the kubelet would fill it in."""
    pod = named(resources, "StatefulSet", f"{RELEASE}-redis-node")["spec"]["template"]["spec"]
    env: dict[str, str] = {}
    for container in pod["containers"][:2]:
        for name, value in env_of(container).items():
            # Every secret of these pods is the Redis password (the sentinels share it).
            env[name] = password if isinstance(value, dict) else value
    return env


class Pods:
    def __init__(self, engine: Engine, image: str, network: Network, scripts: Path, env: dict[str, str]):
        self.engine, self.image, self.network, self.scripts, self.env = engine, image, network, scripts, env
        self.headless = env["HEADLESS"]
        self.containers: dict[int, Container] = {}

    def name(self, index: int) -> str:
        return f"{RELEASE}-redis-node-{index}"

    def host(self, index: int) -> str:
        return f"{self.name(index)}.{self.headless}"

    def start(self, index: int) -> Container:
        container = Container(
            self.engine, self.image, self.network, self.host(index), env=self.env,
            hostname=self.name(index), entrypoint=["sh", "-c"],
            command=["sh /scripts/redis.sh & exec sh /scripts/sentinel.sh"],
        )  # fmt: skip
        container.with_volume_mapping(str(self.scripts), "/scripts", "ro")
        # /data is the image's volume (its append-only file outlives a restart of the container,
        # as the pod's claim does); /sentinel, the pod's emptyDir, a directory of the host's that
        # outlives it too (a tmpfs would come back root-owned after a restart).
        emptydir = self.scripts.parent / f"sentinel-{index}"
        emptydir.mkdir(exist_ok=True)
        emptydir.chmod(0o777)
        container.with_volume_mapping(str(emptydir), "/sentinel", "rw")
        container.start()
        self.containers[index] = container
        return container

    def stop(self) -> None:
        for container in self.containers.values():
            container.stop()

    def cli(self, index: int, *args: str, port: int = 6379) -> str:
        try:
            code, out, err = self.containers[index].run("redis-cli", "-p", str(port), *args)
        except docker.errors.APIError as exc:  # the container stopped meanwhile
            return f"error: {exc}"
        return out if code == 0 else f"error: {err}"

    def running(self, index: int) -> bool:
        wrapped = self.containers[index].get_wrapped_container()
        wrapped.reload()
        return bool(wrapped.status == "running")

    def ready(self, index: int) -> bool:
        if not self.running(index):
            return False
        try:
            code, _, _ = self.containers[index].run("sh", "/scripts/redis-ready.sh")
        except docker.errors.APIError:
            return False
        sentinel = self.cli(index, "ping", port=26379).strip() == "PONG"
        return code == 0 and sentinel

    def role(self, index: int) -> str:
        return self.cli(index, "info", "replication").split("role:", 1)[-1].split()[0]

    def agrees(self, index: int) -> bool:
        """This pod's sentinel knows both replicas and both other sentinels (without that, the
        sentinels left after a master's loss may not reach their quorum)."""
        state = self.cli(index, "SENTINEL", "master", self.env["MASTER_NAME"], port=26379).split()
        fields = dict(zip(state[::2], state[1::2], strict=False))
        return fields.get("num-slaves") == "2" and fields.get("num-other-sentinels") == "2"

    def report(self, indexes: tuple[int, ...]) -> str:
        """What these pods' sentinels think of the master and its replicas, and every pod's log
        whole (pytest would shorten them inside an assertion's message)."""
        views = []
        for i in indexes:
            for what in ("master", "replicas"):
                answer = self.cli(i, "SENTINEL", what, self.env["MASTER_NAME"], port=26379)
                views.append(f"--- {self.name(i)} sentinel {what}: {' '.join(answer.split())}")
        logs = [f"--- {self.name(i)} log\n{c.logs()}" for i, c in self.containers.items()]
        return "\n".join(views + logs)

    def master_named_by(self, index: int) -> str:
        answer = self.cli(index, "SENTINEL", "get-master-addr-by-name", self.env["MASTER_NAME"], port=26379)
        return answer.split()[0] if answer and not answer.startswith("error") else ""


def submit_until_accepted(client: httpx.Client, data: bytes, filename: str) -> str:
    headers = {"Idempotency-Key": secrets.token_hex(8)}
    answer = None
    for _ in range(60):
        answer = client.post("/v1/documents", files={"file": (filename, data)}, headers=headers)
        if answer.status_code in (200, 202):
            return str(answer.json()["task_id"])
        assert answer.status_code == 503, answer.text
        time.sleep(1)
    raise AssertionError(f"never accepted: {answer.text if answer else ''}")


@pytest.fixture
def pods(engine: Engine, image_tag: str, tmp_path: Path) -> Iterator[tuple[Pods, list[Any], str]]:
    resources = rendered()
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    for filename, text in named(resources, "ConfigMap", f"{RELEASE}-redis-node")["data"].items():
        (scripts / filename).write_text(text)
    password = secrets.token_hex(16)
    with contextlib.ExitStack() as cleanup:
        network = Network(docker_client_kw=engine.client_kw).create()
        cleanup.callback(network.remove)
        started = Pods(
            engine, f"localhost/docqueue/redis:{image_tag}", network, scripts, node_env(resources, password)
        )
        cleanup.callback(started.stop)
        for index in range(3):  # OrderedReady: each pod ready before the next starts
            pod = started.start(index)
            assert wait_until(partial(started.ready, index), timeout_s=60), pod.logs()
        yield started, resources, password


def test_three_pods_make_a_master_two_replicas_and_three_sentinels(pods: tuple[Pods, list[Any], str]) -> None:
    nodes, _, _ = pods
    assert [nodes.role(i) for i in range(3)] == ["master", "slave", "slave"]

    assert wait_until(lambda: nodes.agrees(0), timeout_s=60)
    assert all(nodes.master_named_by(i) == nodes.host(0) for i in range(3))


def test_losing_the_master_pod_fails_over_and_the_services_follow(
    pods: tuple[Pods, list[Any], str], engine: Engine, image_tag: str
) -> None:
    nodes, resources, password = pods
    api_env = env_of(
        named(resources, "Deployment", f"{RELEASE}-api")["spec"]["template"]["spec"]["containers"][0]
    )
    env = {
        "DOCQUEUE_REDIS_URL": api_env["DOCQUEUE_REDIS_URL"].replace("$(REDIS_PASSWORD)", password),
        "DOCQUEUE_REDIS_SENTINEL_PASSWORD": password,
        "DOCQUEUE_STORAGE_URL": api_env["DOCQUEUE_STORAGE_URL"].replace("$(REDIS_PASSWORD)", password),
        "DOCQUEUE_REDIS_REPLICA_ACKS": api_env["DOCQUEUE_REDIS_REPLICA_ACKS"],
        "DOCQUEUE_LOG_FORMAT": "json",
    }
    with contextlib.ExitStack() as cleanup:

        def start(alias: str, service: str, **options: Any) -> Container:
            container = Container(
                engine, f"localhost/docqueue/{service}:{image_tag}", nodes.network, alias, **options
            )
            cleanup.callback(container.stop)
            return container.start()

        api = start("api", "api", env=env, publish=[8000], command=["--host=0.0.0.0", "--port=8000"])
        worker = start(
            "worker", "worker", env={**env, "DOCQUEUE_QUEUES": "documents"}, command=["--hostname=w@%h"]
        )
        assert wait_until(lambda: http_ok(f"{api.url(8000)}/readyz"), timeout_s=90), api.logs()
        assert wait_until(lambda: "ready." in worker.logs(), timeout_s=90), worker.logs()
        code, key, err = api.run("docqueue-keys", "create", "--tenant", "e2e", "--scopes", "submit,read")
        assert code == 0, err
        headers = {"Authorization": f"Bearer {key.strip()}"}
        with httpx.Client(base_url=api.url(8000), headers=headers, timeout=30) as client:
            before = wait_terminal(client, submit(client, make_pdf(2), "before.pdf"), timeout_s=120)
            assert before["state"] == "succeeded", before

            # The master is lost only once every sentinel knows the others (a precondition of
            # their quorum; under load discovery can lag).
            assert wait_until(lambda: all(nodes.agrees(i) for i in range(3)), timeout_s=60)
            nodes.containers[0].get_wrapped_container().kill()
            new_master = ""

            def failed_over() -> bool:
                nonlocal new_master
                named_now = {nodes.master_named_by(i) for i in (1, 2)}
                new_master = named_now.pop() if len(named_now) == 1 else ""
                return new_master in (nodes.host(1), nodes.host(2))

            # Each election that fails (a split vote, no replica good enough yet) is tried again
            # after twice the failover timeout: room for several.
            if not wait_until(failed_over, timeout_s=180):
                pytest.fail(nodes.report((1, 2)), pytrace=False)
            promoted = 1 if new_master == nodes.host(1) else 2
            assert wait_until(lambda: nodes.role(promoted) == "master", timeout_s=30)

            # Right after the failover the new master's replica may still be syncing: the upload
            # is then a 503 (DOCQUEUE_REDIS_REPLICA_ACKS=1) whose retry with the same key is the task.
            after_id = submit_until_accepted(client, make_pdf(3), "after.pdf")
            after = wait_terminal(client, after_id, timeout_s=180)
            assert after["state"] == "succeeded", after
            assert client.get(f"/v1/tasks/{before['task_id']}/result").status_code == 200

            # The killed pod restarts (as the StatefulSet would): it asks the sentinels and
            # follows the new master instead of coming back as a second one.
            nodes.containers[0].get_wrapped_container().start()
            assert wait_until(lambda: nodes.ready(0) and nodes.role(0) == "slave", timeout_s=120), (
                nodes.containers[0].logs()
            )
            assert f"starting as a replica of {new_master}" in nodes.containers[0].logs()
        assert "Unrecoverable error" not in worker.logs()
        assert worker.get_wrapped_container().attrs["RestartCount"] == 0
