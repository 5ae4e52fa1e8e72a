"""The container engine the end-to-end tests drive: podman's Docker-compatible API
(`podman system service`) on a socket of this run's own, which testcontainers talks to, and a
sweeper (sweeper.py) that removes what the run created, by label, however the run ends."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
from testcontainers.core.config import ConnectionMode, testcontainers_config
from testcontainers.core.labels import LABEL_SESSION_ID, SESSION_ID

from docqueue_devstack.processes import Process, wait_until

REPO = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_S = 1800
# Containers, networks and volumes testcontainers creates in this run carry this label.
SESSION_LABEL = f"{LABEL_SESSION_ID}={SESSION_ID}"


def missing() -> str:
    """Why no container test can run here, or "" when podman can."""
    if shutil.which("podman") is None:
        return "podman is not installed (`make deps` installs it): the images are built and run with it"
    info = subprocess.run(["podman", "info"], capture_output=True, text=True, timeout=60, check=False)
    if info.returncode != 0:
        return f"podman cannot run containers here: {info.stderr.strip()[-300:]}"
    return ""


class Engine:
    """`podman system service` and the sweeper, both stopped by their process groups."""

    def __init__(self, run_dir: Path, sweep_labels: list[str]) -> None:
        self.socket = run_dir / "podman.sock"
        self.service = Process(
            "podman-service",
            ["podman", "system", "service", "--time=0", f"unix://{self.socket}"],
            os.environ,
            run_dir / "podman-service.log",
        )
        self.sweeper = Process(
            "container-sweeper",
            [sys.executable, "-m", "tests.e2e.sweeper", SESSION_LABEL, *sweep_labels],
            {**os.environ, "PYTHONPATH": str(REPO)},
            run_dir / "sweeper.log",
        )

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def client_kw(self) -> dict[str, object]:
        """What testcontainers' containers and networks are given, so they use this socket
        (testcontainers hands it to docker.from_env)."""
        return {"environment": {"DOCKER_HOST": self.url}}

    def start(self) -> "Engine":
        self.sweeper.start()
        self.service.start()
        if not wait_until(self.answers, timeout_s=60, interval_s=0.5):
            raise RuntimeError(f"podman system service did not answer:\n{self.service.log_tail()}")
        # Ryuk's image cannot be pulled here (the sweeper does its work), and the host's loopback
        # is where the containers' ports are published.
        testcontainers_config.ryuk_disabled = True
        testcontainers_config.connection_mode_override = ConnectionMode.docker_host
        return self

    def answers(self) -> bool:
        if not self.service.alive() or not self.socket.exists():
            return False
        try:
            with httpx.Client(transport=httpx.HTTPTransport(uds=str(self.socket)), timeout=5) as api:
                return api.get("http://podman/_ping").text == "OK"
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        # SIGTERM makes the sweeper remove what is left before it exits.
        self.sweeper.stop(timeout_s=120)
        self.service.stop()


def build_images(log: Path) -> str:
    """`make images` (a no-op when the images of this source exist); returns their tag."""
    with log.open("w") as out:
        built = subprocess.run(
            ["make", "--no-print-directory", "images"],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
    if built.returncode != 0:
        raise RuntimeError(f"make images failed:\n{log.read_text()[-4000:]}")
    tag = subprocess.run(
        ["make", "--no-print-directory", "-s", "image-tag"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return tag.stdout.strip()
