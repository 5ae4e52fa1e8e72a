"""moto's standalone S3-compatible server as a child process on a free port, stopped by PID."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import boto3

from docqueue_devstack.processes import Process, free_port, http_ok, wait_until

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

# moto accepts any credentials; boto3 only needs some to sign with.
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing-access-key",
    "AWS_SECRET_ACCESS_KEY": "testing-secret-key",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextmanager
def moto_s3_server(log_dir: Path) -> Iterator[str]:
    """Yields the endpoint URL (http://127.0.0.1:PORT) of a running moto server."""
    port = free_port()
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    process = Process("moto", argv, {"PATH": "/usr/bin:/bin"}, log_dir / "moto.log").start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        if not wait_until(lambda: http_ok(f"{endpoint}/moto-api/") or not process.alive(), timeout_s=30):
            raise RuntimeError(f"moto did not start:\n{process.log_tail()}")
        yield endpoint
    finally:
        process.stop(timeout_s=5)


def s3_client(endpoint: str) -> "S3Client":
    """A boto3 S3 client of the moto server at `endpoint`."""
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_ENV["AWS_SECRET_ACCESS_KEY"],
    )


def create_bucket(endpoint: str, bucket: str) -> None:
    s3_client(endpoint).create_bucket(Bucket=bucket)
