"""The job record and its codec to and from a Redis hash (every value a string)."""

import json
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, Field, model_validator

from docqueue.errors import PERMANENT_CODES, ErrorCode
from docqueue.text import as_text


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DEAD_LETTERED = "dead_lettered"


TERMINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.DEAD_LETTERED})
# States a job may be (re)started from by a delivery.


class Stage(StrEnum):
    QUEUED = "queued"
    FETCHING = "fetching"  # a `source_url` is being downloaded into the blob store
    EXTRACTING = "extracting"
    CHUNKING = "chunking"
    STORING = "storing"
    DONE = "done"


class PdfEngine(StrEnum):
    """The library that reads a PDF's text (README "Performance" says when to choose which)."""

    PYPDF = "pypdf"
    PDFIUM = "pdfium"


class TextNormalization(StrEnum):
    """What happens to a reader's text before chunking (docqueue_worker.pipeline.normalize)."""

    STANDARD = "standard"  # NFC, ligatures folded, line-end hyphens joined, controls removed
    NONE = "none"  # the reader's raw text


class ChunkUnit(StrEnum):
    """What `chunk_size` and `chunk_overlap` count."""

    CHARACTERS = "characters"
    TOKENS = "tokens"  # of the deployment's tokenizer (DOCQUEUE_TOKENIZER)


class Tokenizer(StrEnum):
    """Tokenizers the workers carry (their files ship inside the worker package)."""

    CL100K_BASE = "cl100k_base"  # OpenAI text-embedding-3-small/-large, text-embedding-ada-002


class OcrMode(StrEnum):
    """When a page is read by OCR (docqueue_worker.pipeline.scan decides per page)."""

    AUTO = "auto"  # only pages whose text layer is (almost) empty while they carry drawn content
    ALWAYS = "always"
    NEVER = "never"


# Tesseract's form: one or more language codes joined by "+" ("eng", "eng+deu", "chi_sim").
OCR_LANGUAGES_PATTERN = r"^[a-z]{3}(_[a-z]+)?(\+[a-z]{3}(_[a-z]+)?)*$"


class JobOptions(BaseModel):
    """Processing options a client may set per upload; part of the dedupe key."""

    model_config = {"frozen": True, "extra": "forbid"}

    chunk_size: int = Field(default=1000, ge=50, le=100_000)
    chunk_overlap: int = Field(default=150, ge=0, le=50_000)
    # A record written before engines existed has none: it was, and stays, a pypdf job.
    engine: PdfEngine = PdfEngine.PYPDF
    # A record written before normalization existed has none: its text was, and stays, raw.
    text_normalization: TextNormalization = TextNormalization.NONE
    # A record written before OCR existed has none: it was never OCRed, and stays so.
    ocr: OcrMode = OcrMode.NEVER
    ocr_languages: str = Field(default="eng", pattern=OCR_LANGUAGES_PATTERN, max_length=64)
    # A record written before token chunking existed has none: it was, and stays, in characters.
    chunk_by: ChunkUnit = ChunkUnit.CHARACTERS

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Self:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self

    def canonical(self) -> str:
        fields = self.model_dump(mode="json")
        # The default engine is left out, so pypdf jobs keep the fingerprints (dedupe keys) they
        # had before the option existed.
        if fields["engine"] == PdfEngine.PYPDF:
            del fields["engine"]
        # Likewise raw text (the only text there was before the option existed).
        if fields["text_normalization"] == TextNormalization.NONE:
            del fields["text_normalization"]
        # Likewise no OCR, whose languages then change nothing.
        if fields["ocr"] == OcrMode.NEVER:
            del fields["ocr"], fields["ocr_languages"]
        # Likewise characters, the only unit there was.
        if fields["chunk_by"] == ChunkUnit.CHARACTERS:
            del fields["chunk_by"]
        return json.dumps(fields, sort_keys=True, separators=(",", ":"))


def percent_done(succeeded: bool, pages_done: int, pages_total: int) -> float:
    """A task's (or a batch's) progress: 100 once it succeeded, else its pages' share of 99 (reading
    is most of the work; the last percent is left for chunking and storing)."""
    if succeeded:
        return 100.0
    if pages_total <= 0:
        return 0.0
    return round(min(99.0, 99.0 * pages_done / pages_total), 1)


class Job(BaseModel):
    """One document's record, as stored under `docqueue:job:{task_id}`."""

    task_id: str
    tenant: str
    filename: str
    media_type: str
    size_bytes: int
    # "" for a `source_url` job until its document is fetched.
    sha256: str = ""
    options: JobOptions
    state: JobState = JobState.QUEUED
    stage: Stage = Stage.QUEUED
    pages_done: int = 0
    pages_total: int = 0
    attempts: int = 0
    error_code: ErrorCode | None = None
    error_message: str | None = None
    blob_key: str
    result_key: str | None = None
    run_id: str | None = None
    holder: str | None = None
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    updated_at: float
    callback_url: str | None = None
    # Where the worker fetches the document (https://... or s3://bucket/key) instead of an
    # upload; `sha256`, `size_bytes` and `media_type` are known once it was fetched.
    source_url: str | None = None
    # What a succeeded result wants its reader to know ("no_text_found", "ocr_low_confidence"),
    # comma-separated; see docqueue.results.Warning.
    warnings: str | None = None
    # Seconds the job and its blobs are kept once it ended, when shorter than the deployment's
    # retention (an upload's `ttl_s`, or its tenant's maximum); None: the deployment's.
    retention_s: int | None = None
    # When the client deleted the result and the upload (DELETE /v1/tasks/{id}/result).
    result_deleted_at: float | None = None
    # A split job's parts (page ranges, docqueue.jobs.parts): how many, and how many are stored.
    parts_total: int = 0
    parts_done: int = 0
    # The batches the task is a member of, comma-separated (docqueue.jobs.batches); a batch that
    # names the same document twice names it twice.
    batches: str | None = None
    # Never stored: set on the record a job update returns when that change ended batches (their
    # ids, comma-separated), so whoever made it queues their webhooks.
    ended_batches: str | None = None

    def expires_at(self, default_retention_s: int) -> float:
        """When retention deletes the job: its retention after it ended, or after it was created
        while it has not ended (as the job scripts score the expiry index)."""
        start = (self.finished_at or self.updated_at) if self.is_terminal else self.created_at
        return start + (self.retention_s or default_retention_s)

    @property
    def needs_fetch(self) -> bool:
        """A `source_url` job whose document is not in the blob store yet."""
        return self.source_url is not None and not self.sha256

    @property
    def ended_batch_ids(self) -> list[str]:
        return [batch_id for batch_id in (self.ended_batches or "").split(",") if batch_id]

    @property
    def warning_list(self) -> list[str]:
        return [w for w in (self.warnings or "").split(",") if w]

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def percent(self) -> float:
        return percent_done(self.state == JobState.SUCCEEDED, self.pages_done, self.pages_total)

    @property
    def error_retryable(self) -> bool:
        return self.error_code is not None and self.error_code not in PERMANENT_CODES

    def to_redis(self) -> dict[str, str]:
        """Flatten to the hash layout; None fields are left out."""
        raw = self.model_dump(mode="json", exclude_none=True, exclude={"ended_batches"})
        raw["options"] = self.options.canonical()
        return {key: str(value) for key, value in raw.items()}

    @classmethod
    def from_redis(cls, raw: dict[Any, Any]) -> Self:
        fields = {as_text(key): as_text(value) for key, value in raw.items()}
        options = json.loads(fields.pop("options", "{}"))
        clean: dict[str, Any] = {key: value for key, value in fields.items() if value != ""}
        return cls.model_validate({**clean, "options": options})
