"""`file://` blobs: a local directory (in Kubernetes, a ReadWriteMany volume)."""

import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from docqueue.storage.base import BlobNotFound, StorageError, check_key, parts_prefix, upload_key


class FileBlobWriter:
    """Writes to a temporary file beside the target and renames it into place on commit."""

    def __init__(self, target: Path) -> None:
        self._target = target
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        except OSError as exc:
            raise StorageError(f"cannot write blob: {exc}") from exc
        self._tmp = Path(tmp)
        self._file = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        try:
            self._file.write(data)
        except OSError as exc:
            self.abort()
            raise StorageError(f"cannot write blob: {exc}") from exc

    def commit(self) -> None:
        try:
            self._file.close()
            os.replace(self._tmp, self._target)
        except OSError as exc:
            self.abort()
            raise StorageError(f"cannot write blob: {exc}") from exc

    def abort(self) -> None:
        self._file.close()
        self._tmp.unlink(missing_ok=True)


class FileBlobStore:
    """Blobs as files under `root`; `ttl_s` is enforced by retention, not by the filesystem."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def writer(self, key: str, ttl_s: int) -> FileBlobWriter:
        return FileBlobWriter(self._path(key))

    def put(self, key: str, data: bytes, ttl_s: int) -> None:
        writer = self.writer(key, ttl_s)
        writer.write(data)
        writer.commit()

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc
        except OSError as exc:
            raise StorageError(f"cannot read blob: {exc}") from exc

    def get(self, key: str) -> bytes:
        with self.open(key) as handle:
            return handle.read()

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
            if key.startswith("results/"):
                path.parent.rmdir()
        except OSError:
            pass  # a non-empty results dir (another run's blob) is removed with the last one

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def purge_task(self, task_id: str) -> None:
        self.delete(upload_key(task_id))
        shutil.rmtree(self.root / "results" / task_id, ignore_errors=True)

    def delete_parts(self, task_id: str) -> None:
        folder, _, name = parts_prefix(task_id).rpartition("/")
        for path in (self.root / folder).glob(f"{name}*"):
            self.delete(f"{folder}/{path.name}")
