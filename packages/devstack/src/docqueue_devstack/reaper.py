"""The watchdog behind `processes.Process`: kills the process groups it was told of once the
process that started them is gone, however it ended (Ctrl-C, SIGTERM, a closed terminal's SIGHUP,
SIGKILL, a crash).

It reads lines from stdin, a pipe whose only writer is its parent: `+PGID` to watch a group,
`-PGID` when the parent stopped that group itself. End of file means the parent has exited or
closed the pipe: every group still watched gets SIGTERM, then SIGKILL after a grace period.
"""

import contextlib
import os
import signal
import sys
import time

GRACE_S = 10.0


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_groups(groups: set[int], signum: int) -> None:
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signum)


def main() -> None:
    # In a session of its own, so the terminal's signals never reach it; ignore them all the same.
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    groups: set[int] = set()
    for line in sys.stdin:
        sign, pgid = line[:1], line[1:].strip()
        if not pgid.isdigit() or int(pgid) <= 1:
            continue
        if sign == "+":
            groups.add(int(pgid))
        elif sign == "-":
            groups.discard(int(pgid))
    signal_groups(groups, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_S
    while time.monotonic() < deadline and any(group_alive(pgid) for pgid in groups):
        time.sleep(0.1)
    signal_groups(groups, signal.SIGKILL)


if __name__ == "__main__":
    main()
