"""The Redis URL the chart composes for an external Redis over TLS works: API, worker and beat
started with exactly the rendered DOCQUEUE_REDIS_URL and DOCQUEUE_STORAGE_URL (the password and
CA path filled in as the kubelet and the Secret volume would) against a TLS-only redis-server."""

import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from docqueue_devstack.processes import Process, free_port, wait_until
from docqueue_devstack.redis_server import redis_server_binary
from docqueue_devstack.stack import Stack
from tests.chart.render import env_of, named, render
from tests.conftest import TEST_ENV
from tests.support.documents import make_pdf
from tests.support.http import submit, wait_terminal
from tests.support.keys import tenant_key

CA_MOUNT = "/etc/docqueue/redis-ca/ca.crt"


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it."""
    ca_key, ca, key, csr, cert = (
        folder / n for n in ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt")
    )
    openssl = ["openssl"]
    subprocess.run(
        [*openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=docqueue test CA", "-keyout", str(ca_key), "-out", str(ca)],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        [*openssl, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-keyout", str(key), "-out", str(csr)],
        check=True, capture_output=True,
    )  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    subprocess.run(
        [*openssl, "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
         "-days", "1", "-extfile", str(folder / "san.ext"), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return ca, cert, key


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str, Path]]:
    """(port, password, CA file) of a redis-server that speaks TLS only."""
    folder = tmp_path_factory.mktemp("redis-tls")
    ca, cert, key = make_certificates(folder)
    port, password = free_port(), secrets.token_hex(24)
    argv = [
        redis_server_binary(), "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
        "--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-ca-cert-file", str(ca),
        "--tls-auth-clients", "no", "--requirepass", password, "--save", "", "--appendonly", "no",
        "--dir", str(folder),
    ]  # fmt: skip
    server = Process("redis-tls", argv, {}, folder / "redis.log").start()
    url = f"rediss://:{password}@127.0.0.1:{port}/0?ssl_cert_reqs=required&ssl_ca_certs={ca}"

    def up() -> bool:
        try:
            return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False

    try:
        if not wait_until(lambda: up() or not server.alive(), timeout_s=15) or not server.alive():
            raise RuntimeError(f"this redis-server cannot serve TLS (Debian's can):\n{server.log_tail()}")
        yield port, password, ca
    finally:
        server.stop()


def rendered_urls(port: int) -> tuple[str, str]:
    resources = render(
        sets=[
            "redis.enabled=false",
            "externalRedis.host=127.0.0.1",
            f"externalRedis.port={port}",
            "externalRedis.existingSecret=managed-redis",
            "externalRedis.tls.enabled=true",
            "externalRedis.tls.caSecret=managed-redis-ca",
        ]
    )
    spec = named(resources, "Deployment", "docqueue-worker")["spec"]["template"]["spec"]
    env = env_of(spec["containers"][0])
    return env["DOCQUEUE_REDIS_URL"], env["DOCQUEUE_STORAGE_URL"]


def test_the_rendered_tls_url_verifies_the_server(tls_redis: tuple[int, str, Path]) -> None:
    port, password, ca = tls_redis
    url, _ = rendered_urls(port)
    filled = url.replace("$(REDIS_PASSWORD)", password).replace(CA_MOUNT, str(ca))
    assert redis.Redis.from_url(filled).ping()
    without_ca = filled.split("&ssl_ca_certs=")[0]
    with pytest.raises(redis.ConnectionError, match="certificate verify failed"):
        redis.Redis.from_url(without_ca, socket_connect_timeout=3).ping()


def test_api_worker_and_beat_run_on_the_rendered_tls_urls(
    tls_redis: tuple[int, str, Path], tmp_path: Path
) -> None:
    port, password, ca = tls_redis
    redis_url, storage_url = (
        u.replace("$(REDIS_PASSWORD)", password).replace(CA_MOUNT, str(ca)) for u in rendered_urls(port)
    )
    stack = Stack(
        redis_url=redis_url, run_dir=tmp_path, env={**TEST_ENV, "DOCQUEUE_STORAGE_URL": storage_url}
    )
    try:
        _, api_url = stack.start_api()
        stack.start_worker(concurrency=1)
        stack.start_beat()
        key = tenant_key(redis.Redis.from_url(redis_url))
        with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as api:
            task = wait_terminal(api, submit(api, make_pdf(2), "tls.pdf"))
            assert task["state"] == "succeeded", task
            assert api.get(f"/v1/tasks/{task['task_id']}/result").json()["document"]["page_count"] == 2
    finally:
        stack.stop()
