"""The split document a pool process has open, so consecutive parts of one document it reads
(and the assembly, when it is the same process) reuse one open reader instead of parsing the file
again: opening is most of a part's fixed cost (`make bench`, docs/performance.md).

One document per process at most; it is closed when the process turns to another document, when a
read fails (a reader that raised mid-page is not trusted again), and after the assembly.
"""

from dataclasses import dataclass
from typing import BinaryIO

from docqueue.jobs.model import Job
from docqueue.settings import Settings
from docqueue.storage import BlobStore
from docqueue_worker.pipeline.engines import PdfSource, open_source


@dataclass
class _Open:
    key: tuple[str, str]
    stream: BinaryIO
    source: PdfSource


class OpenDocument:
    def __init__(self) -> None:
        self._open: _Open | None = None

    def get(self, job: Job, blobs: BlobStore, settings: Settings) -> tuple[BinaryIO, PdfSource]:
        key = (job.blob_key, str(job.options.engine))
        if self._open is not None and self._open.key == key:
            return self._open.stream, self._open.source
        self.close()
        stream = blobs.open(job.blob_key)
        try:
            source = open_source(stream, job.options.engine, settings.max_pages)
        except BaseException:
            stream.close()
            raise
        self._open = _Open(key, stream, source)
        return stream, source

    def close(self) -> None:
        opened, self._open = self._open, None
        if opened is not None:
            try:
                opened.source.close()
            finally:
                opened.stream.close()


# This pool process's (a pool process runs one task at a time).
OPEN_DOCUMENT = OpenDocument()
