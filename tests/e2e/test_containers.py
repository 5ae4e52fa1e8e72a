"""The images built from this source, run with testcontainers on podman's Docker API: api, worker,
webhooks worker and beat containers against a Redis container, on a network of their own. A PDF
uploaded to the API container is processed by the worker container and the result comes back; a
Redis restart loses nothing; the chart's `helm test` script, probes and graceful stops pass."""

import contextlib
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import httpx
import pytest
import redis
from testcontainers.core.network import Network

from docqueue_devstack import licenses
from docqueue_devstack.processes import http_ok, wait_until
from tests.e2e.containers import Container
from tests.e2e.engine import REPO, Engine
from tests.support.documents import make_pdf, page_text
from tests.support.http import submit, wait_terminal
from tests.support.scans import image_pdf, page_images, recall

SMOKE_TEST = REPO / "deploy/helm/docqueue/files/smoke_test.py"
# The first test also builds the images when this source has none yet (a few minutes).
pytestmark = pytest.mark.timeout(1800)
# Inside the test's network every container finds Redis by its alias; blobs live in Redis too
# (the containers share no filesystem).
ENV = {
    "DOCQUEUE_REDIS_URL": "redis://redis:6379/0",
    "DOCQUEUE_STORAGE_URL": "redis://redis:6379/0",
    "DOCQUEUE_LOG_FORMAT": "json",
    "DOCQUEUE_WORKER_SOFT_SHUTDOWN_TIMEOUT_S": "5",
    "DOCQUEUE_LIVENESS_INTERVAL_S": "2",
    "DOCQUEUE_LIVENESS_MAX_AGE_S": "20",
}
# As the chart's pods and compose.yaml's services are: restarted when they exit on an error.
RESTART = {"restart_policy": {"Name": "on-failure", "MaximumRetryCount": 5}}
Stack = dict[str, Container]


@pytest.fixture(scope="module")
def stack(engine: Engine, image_tag: str) -> Iterator[Stack]:
    """redis, api, worker (documents, prefork), webhooks (threads) and beat, as the chart runs them."""
    with contextlib.ExitStack() as cleanup:
        network = Network(docker_client_kw=engine.client_kw).create()
        cleanup.callback(network.remove)

        def start(alias: str, service: str, **options: Any) -> Container:
            container = Container(
                engine, f"localhost/docqueue/{service}:{image_tag}", network, alias, **options
            )
            cleanup.callback(container.stop)
            return container.start()

        containers = {
            "redis": start("redis", "redis", publish=[6379]),
            "api": start("api", "api", env=ENV, publish=[8000], **RESTART,
                         command=["--host=0.0.0.0", "--port=8000", "--no-access-log"]),
            "worker": start("worker", "worker", env={**ENV, "DOCQUEUE_QUEUES": "documents"}, **RESTART,
                            command=["--hostname=e2e-worker@%h"]),
            "webhooks": start("webhooks", "worker", **RESTART,
                               env={**ENV, "DOCQUEUE_QUEUES": "callbacks", "DOCQUEUE_CONCURRENCY": "4"},
                               command=["--hostname=e2e-webhooks@%h", "--pool=threads"]),
            "beat": start("beat", "beat", env=ENV, command=["--hostname=beat@e2e"], **RESTART),
        }  # fmt: skip
        api = containers["api"]
        assert wait_until(lambda: http_ok(f"{api.url(8000)}/readyz"), timeout_s=60), api.logs()
        for name in ("worker", "webhooks", "beat"):
            assert wait_until(partial(ready, containers[name]), timeout_s=90), (
                f"{name} did not start:\n{containers[name].logs()[-3000:]}"
            )
        yield containers


def ready(container: Container) -> bool:
    return "ready." in container.logs()


def create_key(stack: Stack) -> str:
    """With the keys CLI inside the API image, as NOTES.txt tells operators to."""
    code, out, err = stack["api"].run("docqueue-keys", "create", "--tenant", "e2e", "--scopes", "submit,read")
    assert code == 0, err
    return out.strip()


def client(stack: Stack) -> httpx.Client:
    key = create_key(stack)
    return httpx.Client(
        base_url=stack["api"].url(8000), headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


def test_upload_to_the_api_container_is_processed_by_the_worker_container(stack: Stack) -> None:
    with client(stack) as api:
        task_id = submit(api, make_pdf(3, title="From a container"), "container.pdf")
        task = wait_terminal(api, task_id, timeout_s=120)
        assert task["state"] == "succeeded", (task["state"], task["error"], task["attempts"])
        result = api.get(f"/v1/tasks/{task_id}/result").json()
    assert result["document"]["title"] == "From a container"
    assert result["pages"][2]["text"].startswith("Page 3 begins.")
    # The worker container, not some other worker, did it.
    assert task_id in stack["worker"].logs()


def test_the_worker_container_reads_a_scan_and_ships_no_gpl_jbig(stack: Stack) -> None:
    original = page_text(1)
    scan = image_pdf(page_images(make_pdf(1, lambda _: original)))
    with client(stack) as api:
        task = wait_terminal(api, submit(api, scan, "scan.pdf"), timeout_s=120)
        assert task["state"] == "succeeded", (task["state"], task["error"])
        result = api.get(f"/v1/tasks/{task['task_id']}/result").json()
    assert result["pages"][0]["method"] == "ocr"
    assert recall(original, result["pages"][0]["text"]) >= 0.9
    # tesserocr's bundled libjbig (GPL) is replaced by docqueue's MIT stand-in (jbig-stub/).
    # JBIG-KIT's library names its author and licence in its strings; the stand-in a marker.
    libs = "/opt/docqueue/lib/python3.11/site-packages/tesserocr.libs/libjbig-*.so*"
    code, out, err = stack["worker"].run(
        "sh", "-c", f'grep -q "docqueue jbig stub (MIT)" {libs} && ! grep -q "Licence: GPL" {libs}'
    )
    assert code == 0, out + err


# Each image's packages and versions, as importlib.metadata sees them in its environment.
LIST_DISTRIBUTIONS = (
    "import importlib.metadata as m; "
    "print('\\n'.join(sorted(f\"{d.metadata['Name']}=={d.version}\" for d in m.distributions())))"
)


def pinned(pins_file: str) -> dict[str, str]:
    pins = {}
    for line in (REPO / pins_file).read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split(" ;")[0].split("==")
            pins[canonical(name)] = version
    return pins


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def distributions(engine: Engine, image: str) -> dict[str, str]:
    """What `python -c LIST_DISTRIBUTIONS` prints in a one-off container of the image."""
    network = Network(docker_client_kw=engine.client_kw).create()
    lister = Container(
        engine, image, network, "lister", command=["-c", LIST_DISTRIBUTIONS], entrypoint="python"
    )
    try:
        lister.start()
        exit_code = lister.get_wrapped_container().wait(timeout=120)["StatusCode"]
        assert exit_code == 0, lister.logs()
        out, _ = lister.get_logs()
    finally:
        lister.stop()
        network.remove()
    return dict(line.split("==") for line in out.decode().split())


@pytest.mark.parametrize("image", licenses.IMAGES)
def test_every_package_in_the_images_is_at_the_version_the_tests_ran(
    engine: Engine, image_tag: str, image: str
) -> None:
    shipped = distributions(engine, f"localhost/docqueue/{image}:{image_tag}")
    ours = {name for name in shipped if canonical(name).startswith("docqueue")}
    assert ours == ({"docqueue", f"docqueue-{image}"} if image in licenses.SERVICES else set())
    pins = pinned("pins-celery-exporter.txt" if image == "celery-exporter" else "pins.txt")
    unpinned = {name: version for name, version in shipped.items() if name not in ours
                and pins.get(canonical(name)) != version}  # fmt: skip
    assert unpinned == {}, f"packages in the {image} image at versions the pin list does not name"
    # `make licenses` reports exactly what the image holds.
    reported = {row.name for row in licenses.shipped(image)}
    assert {canonical(name) for name in shipped if name not in ours} == reported


def test_the_charts_helm_test_script_passes_in_the_api_image(
    engine: Engine, image_tag: str, stack: Stack
) -> None:
    """The same script the chart's test pod runs, with the same image and environment."""
    smoke = Container(
        engine, f"localhost/docqueue/api:{image_tag}", stack["api"].network, "smoke",
        env={"DOCQUEUE_API_URL": "http://api:8000", "DOCQUEUE_REDIS_URL": ENV["DOCQUEUE_REDIS_URL"],
             "DOCQUEUE_TEST_TIMEOUT_S": "120"},
        command=["/scripts/smoke_test.py"], entrypoint="python",
    ).with_volume_mapping(str(SMOKE_TEST), "/scripts/smoke_test.py", "ro")  # fmt: skip
    try:
        smoke.start()
        exit_code = smoke.get_wrapped_container().wait(timeout=180)["StatusCode"]
        assert exit_code == 0, smoke.logs()
        assert "text found" in smoke.logs()
    finally:
        smoke.stop()


def test_probes_the_chart_uses_pass_in_the_containers(stack: Stack) -> None:
    for name in ("worker", "webhooks"):
        code, _, err = stack[name].run("python", "-m", "docqueue_worker.liveness")
        assert code == 0, (name, err)
    ping = 'exec celery --app docqueue_beat.main inspect ping --timeout 10 --destination "beat@e2e"'
    code, out, err = stack["beat"].run("sh", "-c", ping)
    assert code == 0, out + err
    assert http_ok(f"{stack['api'].url(8000)}/healthz")


def test_a_redis_container_restart_loses_nothing(stack: Stack) -> None:
    """Redis stopped (SIGTERM) and started again, its append-only file on its volume: a result
    written before is still there, and a document submitted after is processed by the same
    processes: api, workers and beat reconnect; none is restarted."""
    others = ("api", "worker", "webhooks", "beat")
    started_at = {name: stack[name].state()["StartedAt"] for name in others}
    with client(stack) as api:
        before = wait_terminal(api, submit(api, make_pdf(2, title="Before"), "before.pdf"), timeout_s=120)
        assert before["state"] == "succeeded", before
        assert stack["redis"].graceful_stop(timeout_s=30) == 0, stack["redis"].logs()[-2000:]
        stack["redis"].get_wrapped_container().start()
        redis_url = f"redis://127.0.0.1:{stack['redis'].get_exposed_port(6379)}/0"
        assert wait_until(lambda: ping(redis_url), timeout_s=60), stack["redis"].logs()[-2000:]
        assert wait_until(lambda: http_ok(f"{stack['api'].url(8000)}/readyz"), timeout_s=60)
        kept = api.get(f"/v1/tasks/{before['task_id']}/result")
        assert kept.status_code == 200, kept.text
        assert kept.json()["document"]["title"] == "Before"
        after = wait_terminal(api, submit(api, make_pdf(2, title="After"), "after.pdf"), timeout_s=180)
        assert after["state"] == "succeeded", after
    for name in others:
        assert stack[name].running(), f"{name} is down after the Redis restart:\n{stack[name].logs()[-2000:]}"
    assert {name: stack[name].state()["StartedAt"] for name in others} == started_at, "a container restarted"


def ping(redis_url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(redis_url, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def test_sigterm_stops_every_container_cleanly_and_promptly(stack: Stack) -> None:
    """Exec-form entrypoints: SIGTERM reaches uvicorn and Celery, which exit 0 well before SIGKILL."""
    for name in ("worker", "webhooks", "beat", "api"):
        started = time.monotonic()
        code = stack[name].graceful_stop(timeout_s=60)
        took_s = time.monotonic() - started
        assert code == 0, f"{name} exited {code}:\n{stack[name].logs()[-2000:]}"
        assert took_s < 45, f"{name} needed {took_s:.0f}s to stop: SIGTERM did not reach it"
