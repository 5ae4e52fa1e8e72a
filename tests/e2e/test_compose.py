"""compose.yaml as a user runs it: `podman-compose up -d` with the images `make images` built,
a real PDF through the API it publishes on 127.0.0.1, Flower and the celery-exporter answering,
every health check passing, and `down -v` leaving nothing behind."""

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest

from docqueue_devstack.processes import free_port, http_ok, wait_until
from tests.e2e.conftest import COMPOSE_PROJECT
from tests.e2e.engine import REPO, Engine
from tests.support.documents import make_pdf
from tests.support.http import submit, wait_terminal

pytestmark = pytest.mark.timeout(1800)
SERVICES = ("redis", "api", "worker", "webhooks", "beat", "flower", "celery-exporter")
PROJECT_LABEL = f"io.podman.compose.project={COMPOSE_PROJECT}"


def podman_compose() -> str:
    """podman-compose from this environment (pins.txt), else from PATH."""
    beside = Path(sys.executable).parent / "podman-compose"
    found = str(beside) if beside.exists() else shutil.which("podman-compose")
    assert found, "podman-compose is in pins.txt: run `make install`"
    return found


class Project:
    def __init__(self, image_tag: str) -> None:
        self.ports = {"api": free_port(), "flower": free_port(), "exporter": free_port()}
        self.env = {
            **os.environ,
            "DOCQUEUE_IMAGE_TAG": image_tag,
            "DOCQUEUE_API_PORT": str(self.ports["api"]),
            "DOCQUEUE_FLOWER_PORT": str(self.ports["flower"]),
            "DOCQUEUE_EXPORTER_PORT": str(self.ports["exporter"]),
            "DOCQUEUE_FLOWER_BASIC_AUTH": "ops:compose-test",
        }

    def compose(self, *args: str, timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
        argv = [
            podman_compose(),
            "--project-name",
            COMPOSE_PROJECT,
            "--file",
            str(REPO / "compose.yaml"),
            *args,
        ]
        return subprocess.run(
            argv, env=self.env, capture_output=True, text=True, timeout=timeout_s, check=False
        )

    def container(self, service: str) -> str:
        ids = podman("ps", "--all", "--quiet", "--filter", f"label={PROJECT_LABEL}",
                     "--filter", f"label=com.docker.compose.service={service}").split()  # fmt: skip
        assert len(ids) == 1, (service, ids)
        return ids[0]

    def healthy(self, service: str) -> bool:
        """Runs the service's health check once (podman schedules them through systemd timers,
        which these machines lack; Docker runs them itself)."""
        check = subprocess.run(
            ["podman", "healthcheck", "run", self.container(service)],
            capture_output=True,
            timeout=90,
            check=False,
        )
        return check.returncode == 0


def podman(*args: str) -> str:
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=120, check=True).stdout


def logs(container: str) -> str:
    answer = subprocess.run(
        ["podman", "logs", container], capture_output=True, text=True, timeout=60, check=False
    )
    return answer.stdout + answer.stderr


@pytest.fixture(scope="module")
def project(engine: Engine, image_tag: str) -> Iterator[Project]:
    project = Project(image_tag)
    try:
        up = project.compose("up", "--detach")
        assert up.returncode == 0, up.stdout + up.stderr
        yield project
    finally:
        down = project.compose("down", "--volumes", "--timeout", "30")
        assert down.returncode == 0, down.stdout + down.stderr
    # Nothing of the project is left: no container, no volume, no network.
    for kind in (["ps", "--all"], ["volume", "ls"], ["network", "ls"]):
        assert podman(*kind, "--quiet", "--filter", f"label={PROJECT_LABEL}").split() == [], kind


def test_compose_up_runs_the_stack_with_the_charts_restrictions(project: Project) -> None:
    for service in SERVICES:
        assert wait_until(partial(project.healthy, service), timeout_s=120, interval_s=3), (
            service, logs(project.container(service))[-3000:])  # fmt: skip
        config = podman("inspect", "--format",
                        "{{.Config.User}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.RestartPolicy.Name}}",
                        project.container(service)).split()  # fmt: skip
        assert config == ["10001:10001", "true", "unless-stopped"], (service, config)


def test_a_pdf_through_the_composed_api(project: Project) -> None:
    url = f"http://127.0.0.1:{project.ports['api']}"
    assert wait_until(lambda: http_ok(f"{url}/readyz"), timeout_s=120)
    created = project.compose("exec", "-T", "api", "docqueue-keys", "create", "--tenant", "compose",
                              "--scopes", "submit,read", timeout_s=120)  # fmt: skip
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as api:
        task = wait_terminal(api, submit(api, make_pdf(3, title="Composed"), "composed.pdf"), timeout_s=180)
        assert task["state"] == "succeeded", (task["state"], task["error"])
        result = api.get(f"/v1/tasks/{task['task_id']}/result").json()
    assert result["document"]["title"] == "Composed"
    assert [page["number"] for page in result["pages"]] == [1, 2, 3]


def test_flower_asks_for_its_password_and_the_exporter_counts_tasks(project: Project) -> None:
    flower = f"http://127.0.0.1:{project.ports['flower']}/flower"
    assert httpx.get(f"{flower}/workers", timeout=10).status_code == 401
    answer = httpx.get(f"{flower}/api/workers", auth=("ops", "compose-test"), timeout=30)
    assert answer.status_code == 200, answer.text
    metrics = f"http://127.0.0.1:{project.ports['exporter']}/metrics"
    assert wait_until(
        lambda: "celery_worker_up" in httpx.get(metrics, timeout=30).text, timeout_s=120, interval_s=2
    )
