"""Pick the blob backend from the storage URL."""

from pathlib import Path
from urllib.parse import urlsplit

from docqueue.storage.base import BlobStore
from docqueue.storage.file import FileBlobStore


def open_blob_store(url: str) -> BlobStore:
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"file:// storage must be a local path, got {url!r}")
        return FileBlobStore(Path(parts.path))
    raise ValueError(f"unsupported storage URL scheme {parts.scheme!r} (file://, redis://, s3://)")
