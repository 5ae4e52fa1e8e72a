"""The three images as containers: started with the same restrictions as in the chart (non-root,
read-only root filesystem with a /tmp tmpfs, no capabilities), stopped by the ids we started."""

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_S = 1800


def podman(*args: str, timeout_s: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout_s, check=check)


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


# What the chart's securityContext and volumes amount to.
RESTRICTED = [
    "--pull=never",
    "--network=host",
    "--user=10001:10001",
    "--read-only",
    "--read-only-tmpfs=false",
    "--tmpfs=/tmp:rw,size=256m,mode=1777",
    "--cap-drop=ALL",
    "--security-opt=no-new-privileges",
]


@dataclass
class Containers:
    """Containers this test started, by id; `remove_all` removes exactly those."""

    ids: list[str] = field(default_factory=list)

    def run(
        self,
        image: str,
        env: Mapping[str, str],
        args: Sequence[str] = (),
        name: str = "",
        entrypoint: str = "",
        volumes: Sequence[str] = (),
    ) -> str:
        options = [f"--env={key}={value}" for key, value in env.items()]
        options += [f"--name={name}"] if name else []
        options += [f"--entrypoint={entrypoint}"] if entrypoint else []
        options += [f"--volume={volume}" for volume in volumes]
        started = podman("run", "--detach", *RESTRICTED, *options, image, *args)
        container = started.stdout.strip()
        self.ids.append(container)
        return container

    def exec(self, container: str, *command: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
        return podman("exec", container, *command, timeout_s=timeout_s, check=False)

    def logs(self, container: str) -> str:
        answer = podman("logs", container, check=False)
        return answer.stdout + answer.stderr

    def running(self, container: str) -> bool:
        state = podman("inspect", "--format", "{{.State.Running}}", container, check=False)
        return state.stdout.strip() == "true"

    def exit_code(self, container: str) -> int:
        code = podman("inspect", "--format", "{{.State.ExitCode}}", container)
        return int(code.stdout.strip())

    def stop(self, container: str, timeout_s: int) -> int:
        """SIGTERM (as the kubelet sends), SIGKILL after `timeout_s`; returns the exit code."""
        podman("stop", f"--time={timeout_s}", container, timeout_s=timeout_s + 30)
        return self.exit_code(container)

    def remove_all(self) -> None:
        for container in reversed(self.ids):
            podman("rm", "--force", "--time=5", container, check=False)
        self.ids.clear()
