"""The upload → worker → result round trip with the blobs in Redis and in S3 (moto's server),
through a real API and a real `celery worker` started for each backend."""

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from docqueue.jobs.keys import BLOB_PREFIX
from docqueue_devstack.redis_server import RedisServer
from docqueue_devstack.stack import Stack
from tests.conftest import TEST_ENV
from tests.support.documents import make_pdf
from tests.support.http import submit, wait_terminal
from tests.support.keys import tenant_key
from tests.support.s3_server import S3_ENV, create_bucket, s3_client


def run_round_trip(stack: Stack, redis_client: redis.Redis) -> tuple[str, dict[str, Any]]:
    """Start an API and a worker on `stack`, push a PDF through, return (task id, result)."""
    _, url = stack.start_api()
    stack.start_worker(concurrency=1)
    key = tenant_key(redis_client)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as api:
        task_id = submit(api, make_pdf(5, title="Stored remotely"), "remote.pdf")
        task = wait_terminal(api, task_id)
        assert task["state"] == "succeeded", task
        result: dict[str, Any] = api.get(f"/v1/tasks/{task_id}/result").json()
    return task_id, result


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, redis.Redis]]:
    """A Redis of this test's own: on the shared one, the session's worker (file storage) could
    take this test's job."""
    with RedisServer(tmp_path / "redis", appendonly=False).start() as server:
        yield server.url, redis.Redis.from_url(server.url)


def test_round_trip_with_redis_blobs(own_redis: tuple[str, redis.Redis], tmp_path: Path) -> None:
    redis_url, redis_client = own_redis
    env = {**TEST_ENV, "DOCQUEUE_STORAGE_URL": redis_url}
    stack = Stack(redis_url=redis_url, run_dir=tmp_path / "stack", env=env)
    try:
        task_id, result = run_round_trip(stack, redis_client)
    finally:
        stack.stop()
    assert result["document"]["page_count"] == 5
    assert redis_client.exists(f"{BLOB_PREFIX}uploads/{task_id}")
    assert list(redis_client.scan_iter(match=f"{BLOB_PREFIX}results/{task_id}/*", count=1000))
    assert not (tmp_path / "stack" / "blobs").exists(), "nothing may fall back to the file backend"


def test_round_trip_with_s3_blobs(
    own_redis: tuple[str, redis.Redis], s3_endpoint: str, tmp_path: Path
) -> None:
    redis_url, redis_client = own_redis
    bucket = f"docqueue-{uuid.uuid4().hex[:12]}"
    create_bucket(s3_endpoint, bucket)
    storage_url = f"s3://{bucket}/docqueue?endpoint_url={s3_endpoint}&addressing_style=path&region=us-east-1"
    stack = Stack(
        redis_url=redis_url,
        run_dir=tmp_path / "stack",
        env={**TEST_ENV, **S3_ENV, "DOCQUEUE_STORAGE_URL": storage_url},
    )
    try:
        task_id, result = run_round_trip(stack, redis_client)
    finally:
        stack.stop()
    assert result["document"]["title"] == "Stored remotely"
    client = s3_client(s3_endpoint)
    names = {item["Key"] for item in client.list_objects_v2(Bucket=bucket)["Contents"]}
    assert f"docqueue/uploads/{task_id}" in names
    assert any(name.startswith(f"docqueue/results/{task_id}/") for name in names)
    assert not (tmp_path / "stack" / "blobs").exists(), "nothing may fall back to the file backend"
