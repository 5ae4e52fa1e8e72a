"""Blob storage for uploads and results, chosen by URL: file://, redis://, s3://."""

from docqueue.storage.base import BlobNotFound, BlobStore, BlobWriter, StorageError, upload_key
from docqueue.storage.factory import open_blob_store

__all__ = [
    "BlobNotFound",
    "BlobStore",
    "BlobWriter",
    "StorageError",
    "open_blob_store",
    "upload_key",
]
