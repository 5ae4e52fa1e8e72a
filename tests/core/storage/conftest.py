"""Blob stores of every backend, each against a real server: a directory, Redis, moto's S3."""

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from docqueue.storage.base import BlobStore
from docqueue.storage.file import FileBlobStore
from docqueue.storage.redis_blobs import RedisBlobStore
from docqueue.storage.s3_blobs import S3BlobStore, S3Location
from tests.support.s3_server import create_bucket, s3_client

# `s3_endpoint`: the session's moto server (tests/conftest.py).


def s3_store(endpoint: str, url: str) -> S3BlobStore:
    """A store on moto with explicit test credentials (the process environment stays untouched)."""
    location = S3Location.parse(url)
    return S3BlobStore(s3_client(endpoint), location)


@pytest.fixture
def make_s3_store(s3_endpoint: str) -> Callable[[str], S3BlobStore]:
    def make(prefix: str = "blobs") -> S3BlobStore:
        bucket = f"docqueue-{uuid.uuid4().hex[:12]}"
        create_bucket(s3_endpoint, bucket)
        return s3_store(s3_endpoint, f"s3://{bucket}/{prefix}")

    return make


@pytest.fixture(params=["file", "redis", "s3"])
def store(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    redis_client: redis.Redis,
    make_s3_store: Callable[[str], S3BlobStore],
) -> BlobStore:
    if request.param == "file":
        return FileBlobStore(tmp_path / "blobs")
    if request.param == "redis":
        return RedisBlobStore(redis_client)
    return make_s3_store("blobs")
