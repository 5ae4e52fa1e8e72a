"""The three images, built from this source, run as containers against a Redis on the host: a PDF
uploaded to the API container is processed by the worker container and the result comes back.
Also runs the chart's `helm test` script in the API image and checks probes and graceful stops."""

import time
import uuid
from collections.abc import Iterator
from functools import partial

import httpx
import pytest
import redis

from docqueue_devstack import licenses
from docqueue_devstack.processes import free_port, http_ok, wait_until
from docqueue_devstack.redis_server import RedisServer
from tests.e2e.podman import REPO, Containers, build_images
from tests.support.documents import make_pdf, page_text
from tests.support.http import submit, wait_terminal
from tests.support.scans import image_pdf, page_images, recall

SMOKE_TEST = REPO / "deploy/helm/docqueue/files/smoke_test.py"
# The first test also builds the three images when this source has none yet (a few minutes).
pytestmark = pytest.mark.timeout(1800)


@pytest.fixture(scope="module")
def image_tag(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_images(tmp_path_factory.mktemp("images") / "build.log")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis of the containers' own: on the suite's shared Redis, another test's worker (with
    file storage the containers cannot see) could take their jobs."""
    with RedisServer(tmp_path_factory.mktemp("e2e-redis"), appendonly=False).start() as server:
        yield server.url


@pytest.fixture(scope="module")
def redis_client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url)


@pytest.fixture(scope="module")
def containers() -> Iterator[Containers]:
    started = Containers()
    try:
        yield started
    finally:
        started.remove_all()


@pytest.fixture(scope="module")
def stack(image_tag: str, containers: Containers, redis_url: str) -> dict[str, str]:
    """api, worker and beat containers; blobs in Redis (the containers share no filesystem)."""
    port = free_port()
    env = {
        "DOCQUEUE_REDIS_URL": redis_url,
        "DOCQUEUE_STORAGE_URL": redis_url,
        "DOCQUEUE_LOG_FORMAT": "json",
        "DOCQUEUE_WORKER_SOFT_SHUTDOWN_TIMEOUT_S": "5",
        "DOCQUEUE_LIVENESS_INTERVAL_S": "2",
        "DOCQUEUE_LIVENESS_MAX_AGE_S": "20",
    }
    suffix = uuid.uuid4().hex[:6]
    api = containers.run(
        f"localhost/docqueue-api:{image_tag}",
        env,
        ["--host=127.0.0.1", f"--port={port}", "--no-access-log"],
        name=f"docqueue-e2e-api-{suffix}",
    )
    # As the chart runs them: documents on prefork workers, webhooks on a threads-pool worker.
    worker = containers.run(
        f"localhost/docqueue-worker:{image_tag}",
        {**env, "DOCQUEUE_QUEUES": "documents"},
        ["--hostname=e2e-worker@%h"],
        name=f"docqueue-e2e-worker-{suffix}",
    )
    callbacks = containers.run(
        f"localhost/docqueue-worker:{image_tag}",
        {**env, "DOCQUEUE_QUEUES": "callbacks", "DOCQUEUE_CONCURRENCY": "4"},
        ["--hostname=e2e-callbacks@%h", "--pool=threads"],
        name=f"docqueue-e2e-callbacks-{suffix}",
    )
    beat = containers.run(
        f"localhost/docqueue-beat:{image_tag}",
        env,
        [f"--hostname=beat@e2e-{suffix}"],
        name=f"docqueue-e2e-beat-{suffix}",
    )
    url = f"http://127.0.0.1:{port}"
    assert wait_until(lambda: http_ok(f"{url}/readyz"), timeout_s=60), containers.logs(api)
    for name, container in (("worker", worker), ("callbacks", callbacks), ("beat", beat)):
        assert wait_until(partial(ready, containers, container), timeout_s=90), (
            f"{name} did not start:\n{containers.logs(container)[-3000:]}"
        )
    return {
        "url": url,
        "api": api,
        "worker": worker,
        "callbacks": callbacks,
        "beat": beat,
        "suffix": suffix,
        "tag": image_tag,
    }


def ready(containers: Containers, container: str) -> bool:
    return "ready." in containers.logs(container)


def create_key(containers: Containers, stack: dict[str, str]) -> str:
    """With the keys CLI inside the API image, as NOTES.txt tells operators to."""
    answer = containers.exec(
        stack["api"], "docqueue-keys", "create", "--tenant", "e2e", "--scopes", "submit,read"
    )
    assert answer.returncode == 0, answer.stderr
    return answer.stdout.strip()


def test_upload_to_the_api_container_is_processed_by_the_worker_container(
    stack: dict[str, str], containers: Containers, redis_client: redis.Redis
) -> None:
    key = create_key(containers, stack)
    with httpx.Client(base_url=stack["url"], headers={"Authorization": f"Bearer {key}"}, timeout=30) as api:
        task_id = submit(api, make_pdf(3, title="From a container"), "container.pdf")
        task = wait_terminal(api, task_id, timeout_s=120)
        assert task["state"] == "succeeded", (task["state"], task["error"], task["attempts"])
        result = api.get(f"/v1/tasks/{task_id}/result").json()
    assert result["document"]["title"] == "From a container"
    assert result["pages"][2]["text"].startswith("Page 3 begins.")
    # The worker container, not some other worker on this Redis, did it.
    assert task_id in containers.logs(stack["worker"])


def test_the_worker_container_reads_a_scan_and_ships_no_gpl_jbig(
    stack: dict[str, str], containers: Containers
) -> None:
    key = create_key(containers, stack)
    original = page_text(1)
    scan = image_pdf(page_images(make_pdf(1, lambda _: original)))
    with httpx.Client(base_url=stack["url"], headers={"Authorization": f"Bearer {key}"}, timeout=30) as api:
        task = wait_terminal(api, submit(api, scan, "scan.pdf"), timeout_s=120)
        assert task["state"] == "succeeded", (task["state"], task["error"])
        result = api.get(f"/v1/tasks/{task['task_id']}/result").json()
    assert result["pages"][0]["method"] == "ocr"
    assert recall(original, result["pages"][0]["text"]) >= 0.9
    # tesserocr's bundled libjbig (GPL) is replaced by docqueue's MIT stand-in (jbig-stub/).
    # JBIG-KIT's library names its author and licence in its strings; the stand-in a marker.
    libs = "/opt/docqueue/lib/python3.11/site-packages/tesserocr.libs/libjbig-*.so*"
    check = containers.exec(
        stack["worker"], "sh", "-c",
        f'grep -q "docqueue jbig stub (MIT)" {libs} && ! grep -q "Licence: GPL" {libs}',
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


# Each image's packages and versions, as importlib.metadata sees them in its environment.
LIST_DISTRIBUTIONS = (
    "import importlib.metadata as m; "
    "print('\\n'.join(sorted(f\"{d.metadata['Name']}=={d.version}\" for d in m.distributions())))"
)


def pinned() -> dict[str, str]:
    pins = {}
    for line in (REPO / "pins.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split(" ;")[0].split("==")
            pins[canonical(name)] = version
    return pins


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


@pytest.mark.parametrize("service", ["api", "worker", "beat"])
def test_every_package_in_the_images_is_at_the_version_the_tests_ran(
    stack: dict[str, str], containers: Containers, service: str
) -> None:
    container = stack[service]
    listed = containers.exec(container, "python", "-c", LIST_DISTRIBUTIONS)
    assert listed.returncode == 0, listed.stderr
    shipped = dict(line.split("==") for line in listed.stdout.split())
    pins = pinned()
    ours = {name for name in shipped if canonical(name).startswith("docqueue")}
    assert ours == {"docqueue", f"docqueue-{service}"}
    unpinned = {name: version for name, version in shipped.items() if name not in ours
                and pins.get(canonical(name)) != version}  # fmt: skip
    assert unpinned == {}, f"packages in the {service} image at versions pins.txt does not name"
    # `make licenses` reports exactly what the image holds.
    reported = {row.name for row in licenses.shipped(service)}
    assert {canonical(name) for name in shipped if name not in ours} == reported


def test_the_charts_helm_test_script_passes_in_the_api_image(
    stack: dict[str, str], containers: Containers, redis_url: str
) -> None:
    """The same script the chart's test pod runs, with the same image and environment."""
    smoke = containers.run(
        f"localhost/docqueue-api:{stack['tag']}",
        {"DOCQUEUE_API_URL": stack["url"], "DOCQUEUE_REDIS_URL": redis_url, "DOCQUEUE_TEST_TIMEOUT_S": "120"},
        ["/scripts/smoke_test.py"],
        name=f"docqueue-e2e-smoke-{stack['suffix']}",
        entrypoint="python",
        volumes=[f"{SMOKE_TEST}:/scripts/smoke_test.py:ro"],
    )
    assert wait_until(lambda: not containers.running(smoke), timeout_s=180)
    assert containers.exit_code(smoke) == 0, containers.logs(smoke)
    assert "text found" in containers.logs(smoke)


def test_probes_the_chart_uses_pass_in_the_containers(stack: dict[str, str], containers: Containers) -> None:
    for name in ("worker", "callbacks"):
        probe = containers.exec(stack[name], "python", "-m", "docqueue_worker.liveness")
        assert probe.returncode == 0, (name, probe.stderr)
    beat = containers.exec(
        stack["beat"],
        "sh",
        "-c",
        "exec celery --app docqueue_beat.main inspect ping --timeout 10 --destination "
        f'"beat@e2e-{stack["suffix"]}"',
        timeout_s=90,
    )
    assert beat.returncode == 0, beat.stdout + beat.stderr
    assert http_ok(f"{stack['url']}/healthz")


def test_sigterm_stops_every_container_cleanly_and_promptly(
    stack: dict[str, str], containers: Containers
) -> None:
    """Exec-form entrypoints: SIGTERM reaches uvicorn and Celery, which exit 0 well before SIGKILL."""
    for name in ("worker", "callbacks", "beat", "api"):
        started = time.monotonic()
        code = containers.stop(stack[name], timeout_s=60)
        took_s = time.monotonic() - started
        assert code == 0, f"{name} exited {code}:\n{containers.logs(stack[name])[-2000:]}"
        assert took_s < 45, f"{name} needed {took_s:.0f}s to stop: SIGTERM did not reach it"
