"""Every backend keeps the BlobStore contract the API, the worker and the beat rely on."""

import uuid

import pytest

from docqueue.storage.base import BlobNotFound, BlobStore, part_key, result_key, upload_key

TTL_S = 600
MIB = 1024 * 1024


def new_task() -> str:
    return uuid.uuid4().hex


def test_streamed_write_is_invisible_until_commit(store: BlobStore) -> None:
    key = upload_key(new_task())
    writer = store.writer(key, TTL_S)
    writer.write(b"%PDF-1.7 first part, ")
    writer.write(b"second part")
    assert not store.exists(key)
    writer.commit()
    assert store.exists(key)
    assert store.get(key) == b"%PDF-1.7 first part, second part"


def test_aborted_write_leaves_nothing(store: BlobStore) -> None:
    key = upload_key(new_task())
    writer = store.writer(key, TTL_S)
    writer.write(b"x" * 1000)
    writer.abort()
    assert not store.exists(key)
    with pytest.raises(BlobNotFound):
        store.get(key)


def test_empty_blob_round_trips(store: BlobStore) -> None:
    key = upload_key(new_task())
    store.writer(key, TTL_S).commit()
    assert store.exists(key)
    assert store.get(key) == b""


def test_large_blob_streams_in_and_reads_back_seekable(store: BlobStore) -> None:
    """Larger than an S3 part and than a ranged read, so every multi-chunk path runs."""
    key = upload_key(new_task())
    data = bytes(range(256)) * (19 * MIB // 256) + b"tail"
    writer = store.writer(key, TTL_S)
    for start in range(0, len(data), 3 * MIB):
        writer.write(data[start : start + 3 * MIB])
    writer.commit()
    with store.open(key) as handle:
        assert handle.read(4) == data[:4]
        handle.seek(-4, 2)
        assert handle.read() == b"tail"
        handle.seek(MIB + 17)
        assert handle.read(100) == data[MIB + 17 : MIB + 117]
    assert store.get(key) == data


def test_missing_blob_is_blob_not_found(store: BlobStore) -> None:
    key = upload_key(new_task())
    assert not store.exists(key)
    with pytest.raises(BlobNotFound):
        store.open(key)
    with pytest.raises(BlobNotFound):
        store.get(key)
    store.delete(key)  # deleting what is not there is not an error


def test_delete_removes_one_blob(store: BlobStore) -> None:
    task = new_task()
    store.put(upload_key(task), b"upload", TTL_S)
    store.put(result_key(task, new_task()), b"{}", TTL_S)
    store.delete(upload_key(task))
    assert not store.exists(upload_key(task))


def test_purge_task_deletes_upload_and_every_run_result_only_of_that_task(store: BlobStore) -> None:
    task, other = new_task(), new_task()
    # Every run's result, and the parts of a split document (retention deletes them with it).
    runs = [result_key(task, new_task()) for _ in range(3)]
    runs += [part_key(task, first, first + 63, new_task()) for first in (1, 65)]
    store.put(upload_key(task), b"upload", TTL_S)
    for key in runs:
        store.put(key, b"{}", TTL_S)
    store.put(upload_key(other), b"other", TTL_S)
    store.put(result_key(other, new_task()), b"{}", TTL_S)

    store.purge_task(task)

    assert not any(store.exists(key) for key in [upload_key(task), *runs])
    assert store.get(upload_key(other)) == b"other"


def test_delete_parts_deletes_every_part_of_that_task_and_nothing_else(store: BlobStore) -> None:
    """Once a split document's result is published: its parts go, recorded or not (a delivery
    whose store failed on a Redis outage wrote one no record names)."""
    task, other = new_task(), new_task()
    parts = [part_key(task, first, first + 63, new_task()) for first in (1, 1, 65)]
    kept = [upload_key(task), result_key(task, new_task()), part_key(other, 1, 64, new_task())]
    for key in parts + kept:
        store.put(key, b"{}", TTL_S)

    store.delete_parts(task)
    store.delete_parts(new_task())  # a task with none: nothing to do

    assert not any(store.exists(key) for key in parts)
    assert all(store.exists(key) for key in kept)


def test_keys_must_be_ours(store: BlobStore) -> None:
    with pytest.raises(ValueError, match="not a docqueue blob key"):
        store.writer("../etc/passwd", TTL_S)
