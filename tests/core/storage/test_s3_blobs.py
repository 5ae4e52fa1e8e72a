"""`s3://` specifics: URL options, prefixes, multipart uploads that abort cleanly."""

import uuid
from collections.abc import Callable

import pytest

from docqueue.storage.base import upload_key
from docqueue.storage.s3_blobs import PART_BYTES, S3BlobStore, S3Location


def test_url_carries_bucket_prefix_and_options() -> None:
    location = S3Location.parse(
        "s3://docs/tenant-a/blobs/?endpoint_url=http://minio.storage:9000&region=eu-west-1&addressing_style=path"
    )
    assert location == S3Location(
        bucket="docs",
        prefix="tenant-a/blobs/",
        endpoint_url="http://minio.storage:9000",
        region="eu-west-1",
        addressing_style="path",
    )
    assert S3Location.parse("s3://docs").prefix == ""


@pytest.mark.parametrize("url", ["s3:///no-bucket", "s3://b/p?endpoint=http://x", "http://b/p"])
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="s3"):
        S3Location.parse(url)


def test_objects_live_under_the_prefix(make_s3_store: Callable[[str], S3BlobStore]) -> None:
    store = make_s3_store("some/prefix")
    key = upload_key(uuid.uuid4().hex)
    store.put(key, b"data", ttl_s=60)
    listed = store.client.list_objects_v2(Bucket=store.location.bucket)
    assert [item["Key"] for item in listed["Contents"]] == [f"some/prefix/{key}"]


def test_a_large_write_is_multipart_and_abort_leaves_no_upload(
    make_s3_store: Callable[[str], S3BlobStore],
) -> None:
    store = make_s3_store("p")
    key = upload_key(uuid.uuid4().hex)
    writer = store.writer(key, ttl_s=60)
    writer.write(b"a" * (PART_BYTES + 1))
    uploads = store.client.list_multipart_uploads(Bucket=store.location.bucket)
    assert len(uploads.get("Uploads", [])) == 1, "the first full part should have started a multipart upload"
    writer.abort()
    assert not store.client.list_multipart_uploads(Bucket=store.location.bucket).get("Uploads")
    assert not store.exists(key)
