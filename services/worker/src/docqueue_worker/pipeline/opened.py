"""The split document a pool process has open, so consecutive parts of one document it reads
(and the assembly, when it is the same process) reuse one open reader instead of parsing the file
again: opening is most of a part's fixed cost (`make bench`, docs/performance.md).

One document per process at most; it is closed when the process turns to another document, when a
read fails (a reader that raised mid-page is not trusted again), and after the assembly.
"""

from dataclasses import dataclass
from typing import BinaryIO

from docqueue.jobs.model import Job
from docqueue.media import IMAGE_TYPES, SNIFF_BYTES, MediaType
from docqueue.settings import Settings
from docqueue.storage import BlobStore
from docqueue_worker.pipeline.engines import PdfSource, open_source
from docqueue_worker.pipeline.images import ImageSource, open_image
from docqueue_worker.pipeline.read import media_type_of


@dataclass(frozen=True)
class Opened:
    """A paged document, open: a PDF (either engine) or a multi-frame image."""

    stream: BinaryIO
    source: PdfSource | ImageSource
    media_type: MediaType


class OpenDocument:
    def __init__(self) -> None:
        self._key: tuple[str, str] | None = None
        self._open: Opened | None = None

    def get(self, job: Job, blobs: BlobStore, settings: Settings) -> Opened:
        key = (job.blob_key, str(job.options.engine))
        if self._open is not None and self._key == key:
            return self._open
        self.close()
        stream = blobs.open(job.blob_key)
        try:
            head = stream.read(SNIFF_BYTES)
            stream.seek(0)
            media_type = media_type_of(head, job.filename)
            source: PdfSource | ImageSource
            if media_type in IMAGE_TYPES:
                source = open_image(stream, settings.max_pages)
            else:
                source = open_source(stream, job.options.engine, settings.max_pages)
        except BaseException:
            stream.close()
            raise
        self._key, self._open = key, Opened(stream, source, media_type)
        return self._open

    def close(self) -> None:
        opened, self._open, self._key = self._open, None, None
        if opened is not None:
            try:
                opened.source.close()
            finally:
                opened.stream.close()


# This pool process's (a pool process runs one task at a time).
OPEN_DOCUMENT = OpenDocument()
