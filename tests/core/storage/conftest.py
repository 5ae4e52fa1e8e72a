"""Blob stores of every backend, each against a real server: a directory, Redis, moto's S3."""

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
import redis

from docqueue.storage.base import BlobStore
from docqueue.storage.file import FileBlobStore
from docqueue.storage.redis_blobs import RedisBlobStore
from docqueue.storage.s3_blobs import S3BlobStore, S3Location
from tests.support.s3_server import S3_ENV, create_bucket, moto_s3_server


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_s3_server(tmp_path_factory.mktemp("moto")) as endpoint:
        yield endpoint


def s3_store(endpoint: str, url: str) -> S3BlobStore:
    """A store on moto with explicit test credentials (the process environment stays untouched)."""
    location = S3Location.parse(url)
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name=S3_ENV["AWS_DEFAULT_REGION"],
        aws_access_key_id=S3_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_ENV["AWS_SECRET_ACCESS_KEY"],
    )
    return S3BlobStore(client, location)


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
