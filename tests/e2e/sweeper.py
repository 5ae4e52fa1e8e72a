"""Removes the containers, networks and volumes of one test run, found by label, when it is told to
stop (SIGTERM, which the devstack's reaper also sends when the run that started it dies in any
way). It plays the part of testcontainers' Ryuk, which cannot run here (its image would have to be
pulled from a registry), and covers the compose project the same way.

    python -m tests.e2e.sweeper LABEL=VALUE [LABEL=VALUE ...]
"""

import signal
import subprocess
import sys
from collections.abc import Sequence
from types import FrameType


def podman(*args: str) -> list[str]:
    answer = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=120, check=False)
    return answer.stdout.split()


def sweep(labels: Sequence[str]) -> None:
    for label in labels:
        containers = podman("ps", "--all", "--quiet", "--filter", f"label={label}")
        if containers:
            podman("rm", "--force", "--time=2", *containers)
        networks = podman("network", "ls", "--quiet", "--filter", f"label={label}")
        if networks:
            podman("network", "rm", "--force", *networks)
        volumes = podman("volume", "ls", "--quiet", "--filter", f"label={label}")
        if volumes:
            podman("volume", "rm", "--force", *volumes)


def main(labels: Sequence[str]) -> None:
    def stop(_signum: int, _frame: FrameType | None) -> None:
        sweep(labels)
        sys.exit(0)

    # A terminal's Ctrl-C or hang-up reaches the test run first; the sweep waits for SIGTERM.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, stop)
    print("sweeping on SIGTERM:", ", ".join(labels), flush=True)
    while True:
        signal.pause()


if __name__ == "__main__":
    main(sys.argv[1:])
