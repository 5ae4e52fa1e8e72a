"""load blob → validate → extract page by page → chunk → store: the stages in order."""

from typing import BinaryIO, Protocol

from docqueue.jobs.model import Job, PdfEngine, Stage, TextNormalization
from docqueue.media import SNIFF_BYTES, MediaType
from docqueue.results import DocumentInfo, Page, Result
from docqueue.settings import Settings
from docqueue.storage import BlobStore
from docqueue.storage.base import result_key
from docqueue_worker.pipeline.chunk import chunk_pages
from docqueue_worker.pipeline.engines import open_source
from docqueue_worker.pipeline.normalize import normalize_pages
from docqueue_worker.pipeline.read import decode_text, media_type_of, text_pages


class Progress(Protocol):
    """Where the pipeline reports; raises to stop the run (cancelled, lease lost)."""

    def stage(self, stage: Stage, pages_total: int | None = None) -> None: ...

    def page_done(self, pages_done: int) -> None: ...


def run_pipeline(job: Job, blobs: BlobStore, progress: Progress, run_id: str, settings: Settings) -> str:
    """Process `job`'s upload and store the result; return the result's blob key."""
    with blobs.open(job.blob_key) as stream:
        pages, title, author, media_type = read_document(
            stream, job.filename, progress, settings, job.options.engine
        )
    progress.stage(Stage.CHUNKING)
    if job.options.text_normalization == TextNormalization.STANDARD:
        pages = normalized(pages)
    chunks = chunk_pages(pages, job.options.chunk_size, job.options.chunk_overlap)
    progress.stage(Stage.STORING)
    result = Result(
        task_id=job.task_id,
        document=DocumentInfo(
            filename=job.filename,
            media_type=media_type,
            sha256=job.sha256,
            page_count=len(pages),
            title=title,
            author=author,
        ),
        pages=pages,
        chunks=chunks,
    )
    key = result_key(job.task_id, run_id)
    blobs.put(key, result.model_dump_json().encode(), ttl_s=settings.retention_s)
    return key


def normalized(pages: list[Page]) -> list[Page]:
    """The pages with their text normalized; chunks and their spans then index that text."""
    texts = normalize_pages(page.text for page in pages)
    return [page.model_copy(update={"text": text}) for page, text in zip(pages, texts, strict=True)]


def read_document(
    stream: BinaryIO,
    filename: str,
    progress: Progress,
    settings: Settings,
    engine: PdfEngine = PdfEngine.PYPDF,
) -> tuple[list[Page], str | None, str | None, MediaType]:
    """Pages, title and author of a PDF or text upload, reporting each page."""
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    media_type = media_type_of(head, filename)
    if media_type != MediaType.PDF:
        pages = text_pages(decode_text(stream.read()))
        progress.stage(Stage.EXTRACTING, pages_total=len(pages))
        progress.page_done(len(pages))
        return pages, None, None, media_type
    with open_source(stream, engine, settings.max_pages) as pdf:
        progress.stage(Stage.EXTRACTING, pages_total=pdf.page_count)
        pages = []
        for page in pdf.pages():
            pages.append(page)
            progress.page_done(page.number)
        title, author = pdf.metadata()
    return pages, title, author, media_type
