"""The blob store interface. Keys are always ours (never derived from a client's filename)."""

import re
from typing import BinaryIO, Protocol

from docqueue.errors import TransientError

# An upload, a run's result, or a stored part (part_key).
_KEY = re.compile(
    r"^(uploads|results)/[0-9a-f]{32}(/([0-9a-f]{32}|part-[0-9]{6}-[0-9]{6}-[0-9a-f]{32})\.json)?$"
)


class StorageError(TransientError):
    """The backend could not be reached or failed; worth retrying."""


class BlobNotFound(KeyError):
    """No blob under that key (expired, deleted, or never written)."""


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"not a docqueue blob key: {key!r}")
    return key


def upload_key(task_id: str) -> str:
    return check_key(f"uploads/{task_id}")


def result_key(task_id: str, run_id: str) -> str:
    """Each run writes its own result blob; only the run holding the job's lease publishes it."""
    return check_key(f"results/{task_id}/{run_id}.json")


def part_key(task_id: str, first: int, last: int, claim: str) -> str:
    """A split document's part (its pages, read) as one delivery (`claim`) stored it: beside the
    results, so a task's purge deletes it; a delivery whose store was refused deletes its own."""
    return check_key(f"{parts_prefix(task_id)}{first:06d}-{last:06d}-{claim}.json")


def parts_prefix(task_id: str) -> str:
    """What every part blob's key of a task starts with."""
    return f"results/{task_id}/part-"


class BlobWriter(Protocol):
    """A streamed write: nothing is visible under the key until `commit`."""

    def write(self, data: bytes) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


class BlobStore(Protocol):
    """Where uploaded bytes and results live; every blob is deleted with its job."""

    def writer(self, key: str, ttl_s: int) -> BlobWriter: ...

    def put(self, key: str, data: bytes, ttl_s: int) -> None: ...

    def open(self, key: str) -> BinaryIO:
        """A readable, seekable file object; the caller closes it."""
        ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def purge_task(self, task_id: str) -> None:
        """Delete every blob of a task: its upload and the result of every run."""
        ...

    def delete_parts(self, task_id: str) -> None:
        """Delete every part blob of a task (`parts_prefix`), recorded in its parts or not (one a
        delivery wrote before its store failed on a Redis outage is in no record)."""
        ...
