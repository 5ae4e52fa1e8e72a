"""Pick the blob backend from the storage URL."""

from pathlib import Path
from urllib.parse import urlsplit

from docqueue.storage.base import BlobStore
from docqueue.storage.file import FileBlobStore


def open_blob_store(url: str, sentinel_password: str | None = None) -> BlobStore:
    """The blob store `url` names; `sentinel_password` is for a redis+sentinel:// URL's sentinels."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"file:// storage must be a local path, got {url!r}")
        return FileBlobStore(Path(parts.path))
    # Backends import their client libraries only when chosen: boto3 alone costs a process
    # about a fifth of a second to import.
    if parts.scheme in ("redis", "rediss", "redis+sentinel", "rediss+sentinel"):
        from docqueue.storage.redis_blobs import RedisBlobStore

        return RedisBlobStore.from_url(url, sentinel_password)
    if parts.scheme == "s3":
        from docqueue.storage.s3_blobs import S3BlobStore

        return S3BlobStore.from_url(url)
    raise ValueError(
        f"unsupported storage URL scheme {parts.scheme!r} (file://, redis://, redis+sentinel://, s3://)"
    )
