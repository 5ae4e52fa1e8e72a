"""Readers for remote blobs: the bytes arrive in chunks and land in a seekable local file."""

import tempfile
from collections.abc import Iterable
from typing import BinaryIO, cast

# Blobs up to this size stay in memory; larger ones spill to a temporary file (under TMPDIR, /tmp
# in the images), so reading a 50 MiB upload never holds it whole in the process.
SPOOL_MEMORY_BYTES = 8 * 1024 * 1024
# Chunk size of ranged reads and of streamed downloads.
READ_CHUNK_BYTES = 1024 * 1024


def spool(chunks: Iterable[bytes]) -> BinaryIO:
    """Copy `chunks` into a seekable file positioned at its start; the caller closes it."""
    handle = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)  # noqa: SIM115 - returned open
    try:
        for chunk in chunks:
            handle.write(chunk)
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    # SpooledTemporaryFile implements the whole binary file interface pypdf and the pipeline use.
    return cast(BinaryIO, handle)
