"""`s3://bucket/prefix` blobs: S3 or any S3-compatible object store (the production choice).

Credentials come the way boto3 always finds them (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from
a Secret, a web-identity token, an instance profile). The URL's query may add `endpoint_url`,
`region` and `addressing_style` (`path` for most S3-compatible servers); boto3's own
AWS_ENDPOINT_URL_S3 and AWS_REGION work as well. S3 has no per-object expiry: blobs are deleted
with their job by the beat's retention run (a bucket lifecycle rule is a sensible backstop).
"""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, cast
from urllib.parse import parse_qs, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from docqueue.storage.base import BlobNotFound, StorageError, check_key, parts_prefix, upload_key
from docqueue.storage.spool import READ_CHUNK_BYTES, spool

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

# S3's smallest multipart part is 5 MiB; a write buffers at most one part in memory.
PART_BYTES = 8 * 1024 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound"}
_OPTIONS = {"endpoint_url", "region", "addressing_style"}


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # "" or ends with "/"
    endpoint_url: str | None = None
    region: str | None = None
    addressing_style: str | None = None

    @classmethod
    def parse(cls, url: str) -> "S3Location":
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"s3 storage URL must be s3://bucket[/prefix], got {url!r}")
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        unknown = set(query) - _OPTIONS
        if unknown:
            raise ValueError(f"unknown s3 storage URL options {sorted(unknown)} (known: {sorted(_OPTIONS)})")
        prefix = parts.path.strip("/")
        return cls(
            bucket=parts.netloc,
            prefix=f"{prefix}/" if prefix else "",
            endpoint_url=query.get("endpoint_url"),
            region=query.get("region"),
            addressing_style=query.get("addressing_style"),
        )


def _is_missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in _MISSING


class S3BlobWriter:
    """Buffers up to one part; small blobs are one PUT, larger ones a multipart upload that is
    completed on `commit` (nothing is visible under the key before) and aborted on `abort`."""

    def __init__(self, store: "S3BlobStore", key: str) -> None:
        self._store = store
        self._name = store.object_name(key)
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[CompletedPartTypeDef] = []

    def _send_part(self) -> None:
        client, bucket = self._store.client, self._store.location.bucket
        if self._upload_id is None:
            self._upload_id = client.create_multipart_upload(Bucket=bucket, Key=self._name)["UploadId"]
        number = len(self._parts) + 1
        answer = client.upload_part(
            Bucket=bucket,
            Key=self._name,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=bytes(self._buffer),
        )
        self._parts.append({"ETag": answer["ETag"], "PartNumber": number})
        self._buffer.clear()

    def write(self, data: bytes) -> None:
        self._buffer += data
        try:
            if len(self._buffer) >= PART_BYTES:
                self._send_part()
        except (BotoCoreError, ClientError) as exc:
            self.abort()
            raise StorageError(f"cannot write blob: {exc}") from exc

    def commit(self) -> None:
        client, bucket = self._store.client, self._store.location.bucket
        try:
            if self._upload_id is None:
                client.put_object(Bucket=bucket, Key=self._name, Body=bytes(self._buffer))
            else:
                if self._buffer:
                    self._send_part()  # the last part may be smaller than 5 MiB
                client.complete_multipart_upload(
                    Bucket=bucket,
                    Key=self._name,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                )
        except (BotoCoreError, ClientError) as exc:
            self.abort()
            raise StorageError(f"cannot write blob: {exc}") from exc
        self._buffer = bytearray()

    def abort(self) -> None:
        self._buffer = bytearray()
        upload_id, self._upload_id = self._upload_id, None
        if upload_id is None:
            return
        # On failure a bucket lifecycle rule for incomplete uploads removes what is left.
        with contextlib.suppress(BotoCoreError, ClientError):
            self._store.client.abort_multipart_upload(
                Bucket=self._store.location.bucket, Key=self._name, UploadId=upload_id
            )


class S3BlobStore:
    """Blobs as objects `<prefix><key>` in one bucket."""

    def __init__(self, client: "S3Client", location: S3Location) -> None:
        self.client = client
        self.location = location

    @classmethod
    def from_url(cls, url: str) -> "S3BlobStore":
        location = S3Location.parse(url)
        style = location.addressing_style
        if style not in (None, "auto", "path", "virtual"):
            raise ValueError(f"s3 addressing_style must be auto, path or virtual, got {style!r}")
        config = Config(
            connect_timeout=5,
            read_timeout=30,
            retries={"max_attempts": 3, "mode": "standard"},
            s3=cast(Any, {"addressing_style": style}) if style else None,
        )
        # One client per store: boto3 clients are thread-safe (the API writes from worker threads).
        client = boto3.session.Session().client(
            "s3", endpoint_url=location.endpoint_url, region_name=location.region, config=config
        )
        return cls(client, location)

    def object_name(self, key: str) -> str:
        return f"{self.location.prefix}{check_key(key)}"

    def writer(self, key: str, ttl_s: int) -> S3BlobWriter:
        return S3BlobWriter(self, key)

    def put(self, key: str, data: bytes, ttl_s: int) -> None:
        writer = self.writer(key, ttl_s)
        writer.write(data)
        writer.commit()

    def _chunks(self, key: str) -> Iterator[bytes]:
        try:
            answer = self.client.get_object(Bucket=self.location.bucket, Key=self.object_name(key))
            yield from answer["Body"].iter_chunks(READ_CHUNK_BYTES)
        except ClientError as exc:
            if _is_missing(exc):
                raise BlobNotFound(key) from exc
            raise StorageError(f"cannot read blob: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot read blob: {exc}") from exc

    def open(self, key: str) -> BinaryIO:
        return spool(self._chunks(key))

    def get(self, key: str) -> bytes:
        return b"".join(self._chunks(key))

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.location.bucket, Key=self.object_name(key))
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot delete blob: {exc}") from exc

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.location.bucket, Key=self.object_name(key))
        except ClientError as exc:
            if _is_missing(exc):
                return False
            raise StorageError(f"cannot read blob: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot read blob: {exc}") from exc
        return True

    def purge_task(self, task_id: str) -> None:
        try:
            self.delete(upload_key(task_id))
            self._delete_under(f"{self.location.prefix}results/{task_id}/")
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot delete blobs: {exc}") from exc

    def delete_parts(self, task_id: str) -> None:
        try:
            self._delete_under(f"{self.location.prefix}{parts_prefix(task_id)}")
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot delete blobs: {exc}") from exc

    def _delete_under(self, prefix: str) -> None:
        bucket = self.location.bucket
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if objects:
                self.client.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})  # type: ignore[typeddict-item]
