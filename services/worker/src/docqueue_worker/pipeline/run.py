"""load blob → validate → extract page by page → chunk → store: the stages in order."""

import json
from collections.abc import Callable, Generator
from contextlib import closing
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from docqueue.errors import DocumentError
from docqueue.jobs.model import ChunkUnit, Job, OcrMode, PdfEngine, Stage, TextNormalization
from docqueue.media import FORMATS, IMAGE_TYPES, SNIFF_BYTES, MediaType
from docqueue.results import DocumentInfo, Page, Result, ResultWarning
from docqueue.settings import Settings
from docqueue.storage import BlobStore
from docqueue.storage.base import result_key
from docqueue_worker.pipeline import tokens
from docqueue_worker.pipeline.chunk import chunk_pages
from docqueue_worker.pipeline.engines import open_source
from docqueue_worker.pipeline.formats.archive import ArchiveLimits
from docqueue_worker.pipeline.formats.blocks import markdown_headings, render_pages
from docqueue_worker.pipeline.formats.markup import read_epub, read_html, read_odt
from docqueue_worker.pipeline.formats.office import Read, read_csv, read_docx, read_pptx, read_xlsx
from docqueue_worker.pipeline.images import ImageSource, open_image
from docqueue_worker.pipeline.normalize import normalize_characters, normalize_pages
from docqueue_worker.pipeline.ocr_pages import OcrPolicy, PdfScanner, ocr_page, result_warnings
from docqueue_worker.pipeline.opened import OPEN_DOCUMENT, Opened
from docqueue_worker.pipeline.outline import attach, with_outline
from docqueue_worker.pipeline.read import decode_text, media_type_of, text_pages


class Progress(Protocol):
    """Where the pipeline reports; raises to stop the run (cancelled, lease lost)."""

    def stage(self, stage: Stage, pages_total: int | None = None) -> None: ...

    def page_done(self, pages_done: int, method: str = "text") -> None: ...


@dataclass(frozen=True)
class Stored:
    """Where the result went, and what a reader should know about it."""

    result_key: str
    warnings: list[ResultWarning]


@dataclass(frozen=True)
class ReadPages:
    """A document's pages as read, with the title and author it states."""

    pages: list[Page]
    title: str | None = None
    author: str | None = None


class SplitDocument(Exception):
    """The document is long enough to be processed as parts (docqueue.jobs.parts); nothing was
    read beyond its page count."""

    def __init__(self, page_count: int, pages_per_part: int) -> None:
        super().__init__(page_count, pages_per_part)
        self.page_count = page_count
        self.pages_per_part = pages_per_part


def run_pipeline(
    job: Job,
    blobs: BlobStore,
    progress: Progress,
    run_id: str,
    settings: Settings,
    split: Callable[[int, Callable[[], bool]], int | None] | None = None,
) -> Stored:
    """Process `job`'s upload and store the result; raise SplitDocument instead when `split` (given
    the page count, and how to tell whether OCR reads the pages) answers a part size."""
    OPEN_DOCUMENT.close()  # a part's document, left open for a next part that did not come
    ocr = OcrPolicy.of(job.options, settings)
    with blobs.open(job.blob_key) as stream:
        pages, title, author, media_type = read_document(
            stream, job.filename, progress, settings, job.options.engine, ocr, split
        )
    return store_result(job, blobs, progress, run_id, settings, ReadPages(pages, title, author), media_type)


def read_part(
    job: Job, blobs: BlobStore, progress: Progress, settings: Settings, first: int, last: int
) -> list[Page]:
    """Pages `first` to `last` of a split document (a PDF, or a multi-frame image read by OCR),
    reporting each page as a count within the part. A permanent error names its page."""
    ocr = OcrPolicy.of(job.options, settings)
    pages: list[Page] = []
    try:
        opened = OPEN_DOCUMENT.get(job, blobs, settings)
        progress.stage(Stage.EXTRACTING)
        with closing(_part_pages(opened, ocr, settings, first, last)) as reading:
            for number, read in reading:
                try:
                    page = read()
                except DocumentError as exc:
                    raise DocumentError(exc.code, f"page {number}: {exc.message}") from exc
                pages.append(page)
                progress.page_done(len(pages), page.method)
    except BaseException:
        OPEN_DOCUMENT.close()
        raise
    return pages


def _part_pages(
    opened: Opened, ocr: OcrPolicy, settings: Settings, first: int, last: int
) -> Generator[tuple[int, Callable[[], Page]]]:
    """(page number, how to read it) for each page of the part, in order."""
    source = opened.source
    if isinstance(source, ImageSource):
        frames = source.frames(ocr.max_pixels, first, last)
        for number in range(first, last + 1):
            yield number, lambda number=number: ocr_page(number, next(frames), ocr.languages)  # type: ignore[misc]
        return
    scanner = PdfScanner(opened.stream, ocr, settings.max_pages, source)
    try:
        texts = source.pages(first, last)
        for number in range(first, last + 1):
            yield number, lambda: scanner.read(next(texts))
    finally:
        scanner.close()


def assemble(
    job: Job, blobs: BlobStore, progress: Progress, run_id: str, settings: Settings, part_keys: list[str]
) -> Stored:
    """The result of a split document from its stored parts: the same pages, outline, title and
    chunks an unsplit run makes (chunking runs once, over every page)."""
    pages = [Page.model_validate(page) for key in part_keys for page in json.loads(blobs.get(key))]
    title = author = None
    try:
        opened = OPEN_DOCUMENT.get(job, blobs, settings)
        if not isinstance(opened.source, ImageSource):
            title, author = opened.source.metadata()
            attach(pages, opened.source.outline())
        media_type = opened.media_type
    finally:
        OPEN_DOCUMENT.close()
    return store_result(job, blobs, progress, run_id, settings, ReadPages(pages, title, author), media_type)


def store_result(
    job: Job,
    blobs: BlobStore,
    progress: Progress,
    run_id: str,
    settings: Settings,
    read: ReadPages,
    media_type: MediaType,
) -> Stored:
    """Normalize, chunk and store the pages a document was read into."""
    pages = read.pages
    progress.stage(Stage.CHUNKING)
    if job.options.text_normalization == TextNormalization.STANDARD:
        pages = normalized(pages)
    if media_type == MediaType.MARKDOWN:
        pages = [with_markdown_headings(page) for page in pages]
    elif media_type == MediaType.PDF:
        pages = with_outline(pages)
    pages = [
        page if page.markdown is not None else page.model_copy(update={"markdown": page.text})
        for page in pages
    ]
    chunks = chunk_pages(
        pages,
        job.options.chunk_size,
        job.options.chunk_overlap,
        tokenizer=tokens.encoding(settings.tokenizer),
        by_tokens=job.options.chunk_by == ChunkUnit.TOKENS,
    )
    progress.stage(Stage.STORING)
    warnings = result_warnings(pages, settings.ocr_low_confidence)
    result = Result(
        task_id=job.task_id,
        document=DocumentInfo(
            filename=job.filename,
            media_type=media_type,
            format=FORMATS[media_type],
            sha256=job.sha256,
            page_count=len(pages),
            title=read.title,
            author=read.author,
            ocr_pages=sum(1 for page in pages if page.method == "ocr"),
            source_url=job.source_url,
        ),
        pages=pages,
        chunks=chunks,
        warnings=warnings,
    )
    key = result_key(job.task_id, run_id)
    blobs.put(key, result.model_dump_json().encode(), ttl_s=settings.retention_s)
    return Stored(key, warnings)


def normalized(pages: list[Page]) -> list[Page]:
    """The pages with their text normalized; chunks and spans then index that text. Structured
    pages (those a format reader gave Markdown) get the character rules only, tabs kept."""
    if any(page.markdown is not None for page in pages):
        return [structured_normalized(page) for page in pages]
    texts = normalize_pages(page.text for page in pages)
    return [page.model_copy(update={"text": text}) for page, text in zip(pages, texts, strict=True)]


def with_markdown_headings(page: Page) -> Page:
    """A Markdown upload's page, its headings marked for the chunker (after normalization, which
    may join lines)."""
    page._marks = markdown_headings(page.text)
    return page


def structured_normalized(page: Page) -> Page:
    text = normalize_characters(page.text, keep_tabs=True)
    markdown = normalize_characters(page.markdown or "", keep_tabs=True)
    copy = page.model_copy(update={"text": text, "markdown": markdown})
    if text.count("\n") != page.text.count("\n"):
        copy._marks = ()  # a line was joined: the marks' line numbers no longer hold
    return copy


NEVER_OCR = OcrPolicy(OcrMode.NEVER, "eng", 300, 40_000_000)


def read_document(
    stream: BinaryIO,
    filename: str,
    progress: Progress,
    settings: Settings,
    engine: PdfEngine = PdfEngine.PYPDF,
    ocr: OcrPolicy = NEVER_OCR,
    split: Callable[[int, Callable[[], bool]], int | None] | None = None,
) -> tuple[list[Page], str | None, str | None, MediaType]:
    """Pages, title and author of an upload, reporting each page (or SplitDocument, see
    run_pipeline)."""
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    media_type = media_type_of(head, filename)
    if media_type in IMAGE_TYPES:
        return read_image(stream, progress, settings, ocr, split), None, None, media_type
    if media_type in STRUCTURED:
        read = read_structured(stream, media_type, settings)
        pages = render_pages(read.pages)
        progress.stage(Stage.EXTRACTING, pages_total=len(pages))
        progress.page_done(len(pages))
        return pages, read.title, read.author, media_type
    if media_type != MediaType.PDF:
        pages = text_pages(decode_text(stream.read()))
        progress.stage(Stage.EXTRACTING, pages_total=len(pages))
        progress.page_done(len(pages))
        return pages, None, None, media_type
    with open_source(stream, engine, settings.max_pages) as pdf:
        scanner = PdfScanner(stream, ocr, settings.max_pages, pdf)
        try:
            if split is not None:
                size = split(pdf.page_count, lambda: scanner.looks_scanned(pdf))
                if size is not None:
                    raise SplitDocument(pdf.page_count, size)
            progress.stage(Stage.EXTRACTING, pages_total=pdf.page_count)
            pages = []
            for page in pdf.pages():
                page = scanner.read(page)
                pages.append(page)
                progress.page_done(page.number, page.method)
            title, author = pdf.metadata()
            attach(pages, pdf.outline())
        finally:
            scanner.close()
    return pages, title, author, media_type


STRUCTURED = frozenset({
    MediaType.DOCX, MediaType.PPTX, MediaType.XLSX, MediaType.ODT, MediaType.EPUB,
    MediaType.HTML, MediaType.XHTML, MediaType.CSV,
})  # fmt: skip


def read_structured(stream: BinaryIO, media_type: MediaType, settings: Settings) -> Read:
    """Office, web and e-book documents: read whole, then rendered page by page."""
    limits = ArchiveLimits.of(settings)
    if media_type == MediaType.DOCX:
        return read_docx(stream, limits)
    if media_type == MediaType.PPTX:
        return read_pptx(stream, limits, settings.max_pages)
    if media_type == MediaType.XLSX:
        return read_xlsx(stream, limits, settings.max_pages, settings.max_sheet_cells)
    if media_type == MediaType.ODT:
        return read_odt(stream, limits, settings.max_html_depth)
    if media_type == MediaType.EPUB:
        return read_epub(stream, limits, settings.max_pages, settings.max_html_depth)
    if media_type == MediaType.CSV:
        return read_csv(decode_text(stream.read()), settings.max_sheet_cells)
    return read_html(stream.read(), settings.max_html_depth)


def read_image(
    stream: BinaryIO,
    progress: Progress,
    settings: Settings,
    ocr: OcrPolicy,
    split: Callable[[int, Callable[[], bool]], int | None] | None = None,
) -> list[Page]:
    """Every frame of an image, by OCR (whatever `ocr` says: an image has no text layer)."""
    with open_image(stream, settings.max_pages) as image:
        size = split(image.page_count, lambda: True) if split is not None else None
        if size is not None:
            raise SplitDocument(image.page_count, size)
        progress.stage(Stage.EXTRACTING, pages_total=image.page_count)
        pages = []
        for number, frame in enumerate(image.frames(ocr.max_pixels), start=1):
            pages.append(ocr_page(number, frame, ocr.languages))
            progress.page_done(number, "ocr")
    return pages
