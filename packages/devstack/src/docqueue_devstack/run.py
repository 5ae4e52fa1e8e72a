"""`make run`: the whole docqueue stack on this machine until Ctrl-C.

Uses DOCQUEUE_REDIS_URL or REDIS_URL when one is set (as every docqueue process does, see
docqueue.redis_url), otherwise starts its own Redis (AOF) under .run/. Starts api, worker,
beat, Flower and the celery-exporter, prints where they are and a development API key.
"""

import os
import secrets
import signal
import socket
import sys
import time
from pathlib import Path

from docqueue import names
from docqueue.auth import Scope, generate_api_key, store_api_key
from docqueue.redis_url import RedisUrlConflict, mask_url, redis_client, resolve_redis_url
from docqueue_devstack.redis_server import RedisServer
from docqueue_devstack.stack import EXPORTER_PORT, FLOWER_PORT, Stack

DEV_TENANT = "dev"
PID_FILE = "devstack.pid"


class StartError(Exception):
    """`make run` cannot start: the message says why and what to do."""


def main() -> None:
    try:
        run()
    except StartError as exc:
        sys.exit(f"make run: {exc}")


def run() -> None:
    run_dir = Path(os.environ.get("DOCQUEUE_RUN_DIR", ".run")).resolve()
    api_port = int(os.environ.get("DOCQUEUE_API_PORT", "8000"))
    flower_port = int(os.environ.get("DOCQUEUE_FLOWER_PORT", str(FLOWER_PORT)))
    exporter_port = int(os.environ.get("DOCQUEUE_EXPORTER_PORT", str(EXPORTER_PORT)))
    flower_auth = os.environ.get("DOCQUEUE_FLOWER_BASIC_AUTH", "admin:admin")
    exporter_python = run_dir / "celery-exporter-venv" / "bin" / "python"
    try:
        choice = resolve_redis_url()
    except RedisUrlConflict as exc:
        raise StartError(f"refusing to start: {exc}") from exc
    ports = {"the API": api_port, "Flower": flower_port}
    if exporter_python.exists():
        ports["the celery-exporter"] = exporter_port
    check_ports(run_dir, ports)
    # A closed terminal (SIGHUP) and a plain `kill` stop the stack as Ctrl-C does; whatever else
    # ends this process, the reaper (processes.py) stops every service it started. Ctrl-C gets a
    # handler of its own too: a shell starts a background job (`make run &` in a script, nohup)
    # with SIGINT ignored, and Python then installs none, so `kill -INT` did nothing.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    pid_file = run_dir / PID_FILE
    run_dir.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{os.getpid()}\n")
    redis_server = None
    stack: Stack | None = None
    try:
        redis_url = choice.url
        if choice.variable is None:
            redis_server = RedisServer(run_dir / "redis").start()
            redis_url = redis_server.url
        redis_origin = f"from {choice.variable}" if choice.variable else "its own, under the run directory"
        stack = Stack(redis_url=redis_url, run_dir=run_dir, env=dev_env())
        key = os.environ.get("DOCQUEUE_DEV_API_KEY") or generate_api_key()
        store_api_key(
            redis_client(redis_url, os.environ.get("DOCQUEUE_REDIS_SENTINEL_PASSWORD")),
            key,
            DEV_TENANT,
            set(Scope),
            name="make run",
        )
        _, api_url = stack.start_api(port=api_port)
        # Documents and webhooks on separate workers, as in Kubernetes: a slow receiver never
        # holds a document slot. Webhook delivery is I/O, so its worker uses threads.
        stack.start_worker(
            name="worker", env={"DOCQUEUE_QUEUES": ",".join(names.DOCUMENT_QUEUES)}, restart=True
        )
        stack.start_worker(
            name="webhooks",
            concurrency=8,
            env={"DOCQUEUE_QUEUES": names.WEBHOOKS_QUEUE},
            args=["--pool", "threads"],
            restart=True,
        )
        stack.start_beat()
        _, flower_url = stack.start_flower(port=flower_port, basic_auth=flower_auth)
        exporter_url = "(not installed: run `make celery-exporter`)"
        if exporter_python.exists():
            _, exporter_url = stack.start_exporter(exporter_python, port=exporter_port)
        # Printed only now: every service above answered its readiness check.
        print(
            banner(api_url, flower_url, flower_auth, exporter_url, (redis_url, redis_origin), key, run_dir),
            flush=True,
        )
        metrics = "  ".join(f"{name}: {url}" for name, url in stack.worker_metrics.items())
        print(f"  Prometheus metrics: api: {api_url}/metrics  {metrics}", flush=True)
        print(f"  Webhook signing secret: {stack.env['DOCQUEUE_WEBHOOK_SECRET']}\n", flush=True)
        watch(stack)
    except KeyboardInterrupt:
        pass
    except RuntimeError as exc:  # a service did not start (Stack.start_*)
        raise StartError(str(exc)) from exc
    finally:
        # A second Ctrl-C must not cut the cleanup short and leave processes behind.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        print("\nstopping docqueue...", flush=True)
        if stack is not None:
            stack.stop()
        if redis_server is not None:
            redis_server.stop()
        pid_file.unlink(missing_ok=True)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def dev_env() -> dict[str, str]:
    return {
        "DOCQUEUE_LOG_FORMAT": "text",
        # Webhooks work out of the box on one machine: signed with a per-run secret, and allowed
        # to reach a receiver on this machine (production refuses private addresses).
        "DOCQUEUE_WEBHOOK_SECRET": os.environ.get("DOCQUEUE_WEBHOOK_SECRET") or secrets.token_urlsafe(32),
        "DOCQUEUE_WEBHOOK_ALLOW_PRIVATE": "true",
        "DOCQUEUE_WEBHOOK_ALLOW_HTTP": "true",
        # An idle worker otherwise waits its full soft shutdown on Ctrl-C.
        "DOCQUEUE_WORKER_SOFT_SHUTDOWN_TIMEOUT_S": "5",
    }


def watch(stack: Stack) -> None:
    """Until interrupted; a service that exits unasked (and is not restarted) ends `make run`."""
    while True:
        for process in stack.processes:
            if process not in stack.supervisor.watched and not process.alive():
                raise StartError(f"{process.name} exited; see {process.log_path}")
        time.sleep(1.0)


def check_ports(run_dir: Path, ports: dict[str, int]) -> None:
    """Every port is free, or a clear error naming it (and the earlier `make run` holding it)."""
    for service, port in ports.items():
        if port_is_free(port):
            continue
        message = f"port {port} (for {service}) is already in use on 127.0.0.1"
        earlier = earlier_run(run_dir)
        if earlier is not None:
            message += (
                f"; an earlier `make run` is still running (pid {earlier}): stop it with Ctrl-C in "
                f"its terminal or `kill {earlier}`"
            )
        else:
            message += (
                "; stop what holds it, or choose other ports (DOCQUEUE_API_PORT, "
                "DOCQUEUE_FLOWER_PORT, DOCQUEUE_EXPORTER_PORT)"
            )
        raise StartError(message)


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def earlier_run(run_dir: Path) -> int | None:
    """The pid of a `make run` that still runs from this run directory."""
    try:
        pid = int((run_dir / PID_FILE).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def banner(
    api: str,
    flower: str,
    flower_auth: str,
    exporter: str,
    redis: tuple[str, str],
    key: str,
    run_dir: Path,
) -> str:
    return f"""
docqueue is running (Ctrl-C stops everything)

  API              {api}          (docs: {api}/docs)
  Flower           {flower}   (basic auth {flower_auth})
  celery-exporter  {exporter}
  Redis            {mask_url(redis[0])} ({redis[1]})
  logs             {run_dir}/logs/

  API key (tenant "{DEV_TENANT}", all scopes):
    export DOCQUEUE_URL={api} DOCQUEUE_API_KEY={key}
  More keys (docqueue-keys reads the same variables as every docqueue process):
    DOCQUEUE_REDIS_URL={mask_url(redis[0])} uv run docqueue-keys create --tenant acme

  Try it:
    curl -s -H "Authorization: Bearer $DOCQUEUE_API_KEY" -F file=@some.pdf $DOCQUEUE_URL/v1/documents
    docqueue submit some.pdf --wait
"""


if __name__ == "__main__":
    main()
