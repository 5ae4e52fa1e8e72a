"""Prometheus' multiprocess mode for prefork workers: each pool process writes its samples to
files in PROMETHEUS_MULTIPROC_DIR and the main process serves their sum on its own port.

prometheus_client picks its value store when it is first imported, so `prepare_multiprocess_dir`
must run before anything imports it (the worker's entry point calls it first thing). Nothing here
imports prometheus_client at module level for that reason.
"""

import atexit
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ENV = "PROMETHEUS_MULTIPROC_DIR"

log = logging.getLogger(__name__)


def prepare_multiprocess_dir(prefix: str = "docqueue-metrics-") -> Path:
    """Point prometheus_client at an empty directory: the configured one, emptied (files of a
    previous run would be added to this one's), or a new one under the temporary directory."""
    if "prometheus_client.values" in sys.modules and ENV not in os.environ:
        raise RuntimeError("prometheus_client was imported before its multiprocess directory was set")
    configured = os.environ.get(ENV)
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
    else:
        path = Path(tempfile.mkdtemp(prefix=prefix))
        os.environ[ENV] = str(path)
        atexit.register(_remove_if_creator, path, os.getpid())
    return path


def _remove_if_creator(path: Path, creator_pid: int) -> None:
    # Forked pool processes inherit atexit hooks: only the process that made the directory removes it.
    if os.getpid() == creator_pid:
        shutil.rmtree(path, ignore_errors=True)


def multiprocess_enabled() -> bool:
    return bool(os.environ.get(ENV))


def serve_metrics(port: int, address: str) -> Any:
    """Serve this process's view on `address:port` from a daemon thread: the sum over every
    process's files in multiprocess mode, else the process's own registry. Returns the server."""
    from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = REGISTRY
    if multiprocess_enabled():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    server, _thread = start_http_server(port, addr=address, registry=registry)
    log.info("metrics served on %s:%d", address, port)
    return server


def mark_process_dead(pid: int) -> None:
    """A pool process ended: drop its live-gauge files (counters and histograms are kept, so
    totals never go backwards)."""
    if multiprocess_enabled():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
