"""`make run` (docqueue-devstack) as a child of the test, with ports and a run directory of its own."""

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from docqueue.redis_url import REDIS_URL_VARIABLES
from docqueue_devstack.processes import free_port, wait_until

BANNER = "docqueue is running"


@dataclass
class Devstack:
    popen: subprocess.Popen[bytes]
    log: Path
    run_dir: Path
    api_port: int
    flower_port: int
    # Every process ever seen below the devstack: killed by PID when the test ends.
    seen: set[int] = field(default_factory=set)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_running(self, timeout_s: float = 120) -> None:
        wait_until(lambda: BANNER in self.output() or self.popen.poll() is not None, timeout_s)
        self.descendants()
        assert BANNER in self.output(), self.output()

    def descendants(self) -> set[int]:
        """Every process below the devstack now, found by parent PIDs (never by name)."""
        found = descendants(self.popen.pid)
        self.seen |= found
        return found


def devstack_env(run_dir: Path, api_port: int, flower_port: int, extra: Mapping[str, str]) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in REDIS_URL_VARIABLES}
    return {
        **env,
        "DOCQUEUE_RUN_DIR": str(run_dir),
        "DOCQUEUE_API_PORT": str(api_port),
        "DOCQUEUE_FLOWER_PORT": str(flower_port),
        **extra,
    }


@contextlib.contextmanager
def devstack(
    root: Path,
    env: Mapping[str, str] | None = None,
    api_port: int | None = None,
    flower_port: int | None = None,
    sigint_ignored: bool = False,
) -> Iterator[Devstack]:
    """Started in a session of its own, so a test can signal it alone (`sigint_ignored`: with
    SIGINT ignored, as a shell starts a background job); on the way out it and everything below
    it is killed by PID, whatever the test did."""
    run_dir = root / "run"
    api_port = api_port or free_port()
    flower_port = flower_port or free_port()
    log = root / f"make-run-{api_port}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            [sys.executable, "-m", "docqueue_devstack.run"],
            env=devstack_env(run_dir, api_port, flower_port, env or {}),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_ignore_sigint if sigint_ignored else None,
        )
    run = Devstack(popen, log, run_dir, api_port, flower_port)
    try:
        yield run
    finally:
        run.descendants()
        if popen.poll() is None:
            popen.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(60)
        for pid in run.seen | {popen.pid}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        popen.wait(10)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name is in parentheses and may hold spaces: the fields follow its end.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
