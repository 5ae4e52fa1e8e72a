"""Settings shared by every docqueue process, read from `DOCQUEUE_*` environment variables.

Each service subclasses `Settings` with its own fields; all of them validate at boot so a process
refuses to start on an unsafe combination instead of losing work later.
"""

import logging
import sys
from typing import Any, Literal, Self, TypeVar

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from docqueue.jobs.model import (
    OCR_LANGUAGES_PATTERN,
    ChunkUnit,
    OcrMode,
    PdfEngine,
    TextNormalization,
    Tokenizer,
)
from docqueue.redis_url import (
    DEFAULT_REDIS_URL,
    RedisUrlConflict,
    check_redis_url,
    describe_redis_url,
    is_sentinel_url,
    resolve_redis_url,
)

MIB = 1024 * 1024
# A setting renamed: read from DOCQUEUE_<NEW>, else from the name it had (webhooks were "callbacks").
RENAMED = {"webhook_": "callback_"}


def _env(name: str) -> AliasChoices:
    """The environment names of a renamed setting: its own, then its old one."""
    old = next(name.replace(new, was, 1) for new, was in RENAMED.items() if name.startswith(new))
    return AliasChoices(f"DOCQUEUE_{name.upper()}", f"DOCQUEUE_{old.upper()}")


class Settings(BaseSettings):
    """Configuration every docqueue process reads (prefix `DOCQUEUE_`)."""

    model_config = SettingsConfigDict(
        env_prefix="DOCQUEUE_", extra="ignore", frozen=True, populate_by_name=True
    )

    # --- connections -----------------------------------------------------------------------
    # Jobs, events, dead letters, API keys. Read from DOCQUEUE_REDIS_URL, else REDIS_URL (both set
    # and different: refused), see docqueue.redis_url. redis://, rediss://, unix://, or a master
    # found through Sentinel: redis+sentinel://[:password@]host1:port1[,host2:port2...]/<master>/<db>
    # (rediss+sentinel:// for TLS).
    redis_url: str = DEFAULT_REDIS_URL
    # The Celery broker; defaults to redis_url. Jobs, events and dead letters always live in redis_url.
    broker_url: str | None = None
    # Where uploads and results are kept: file:///dir, redis://host/db (or redis+sentinel://...)
    # or s3://bucket/prefix.
    storage_url: str = "file:///tmp/docqueue/blobs"
    # The password of the sentinels themselves (their `requirepass`), for every redis+sentinel://
    # URL; the master's password is the one in the URL.
    redis_sentinel_password: SecretStr | None = None

    # --- retention -------------------------------------------------------------------------
    # A job, its blobs and its events are deleted this long after it was created or finished.
    retention_s: int = Field(default=7 * 24 * 3600, ge=60)
    # Idempotency-Key answers are remembered this long.
    idempotency_ttl_s: int = Field(default=24 * 3600, ge=60)

    # --- documents -------------------------------------------------------------------------
    # Larger uploads are answered 413 payload_too_large.
    max_upload_bytes: int = Field(default=50 * MIB, ge=1)
    # Uploads of this many bytes or more wait in the bulk lane (documents.bulk), smaller ones in
    # the interactive lane (documents), which workers serve first; 0 puts everything in one lane.
    bulk_min_bytes: int = Field(default=5 * MIB, ge=0)
    # A paged document (PDF) of this many pages or more is processed as parts any worker can take
    # (docqueue.jobs.parts); 0 never splits. Defaults measured by `make bench` (docs/performance.md).
    split_min_pages: int = Field(default=128, ge=0)
    # Pages per part of a split document.
    split_pages_per_part: int = Field(default=64, ge=1)
    # Seconds one OCR page may take (Tesseract reads a page in one to a few seconds). A document
    # read by OCR (an image, or a PDF whose pages are scans) is split into parts of at most
    # 0.8 x DOCQUEUE_TASK_SOFT_TIME_LIMIT_S / this many pages, whatever its length, so each part
    # fits the soft time limit that is sized for text pages; 0: OCR documents split like others.
    ocr_page_budget_s: float = Field(default=10.0, ge=0)
    # Fair shares: while a tenant's unfinished documents hold this many pages or more (counted
    # once a worker has opened them), its further uploads are refused with 429 and Retry-After;
    # other tenants are not affected. 0: no cap.
    tenant_max_pages_in_flight: int = Field(default=0, ge=0)
    # Documents with more pages end failed / too_many_pages.
    max_pages: int = Field(default=2000, ge=1)
    # Characters (or tokens, under chunk_by=tokens) per chunk when an upload does not say
    # (chunk_size form field).
    default_chunk_size: int = Field(default=1000, ge=50)
    # Characters (or tokens) neighbouring chunks share when an upload does not say (below the
    # chunk size).
    default_chunk_overlap: int = Field(default=150, ge=0)
    # What chunk_size and chunk_overlap count when an upload does not say (the `chunk_by` form
    # field): characters, or tokens of DOCQUEUE_TOKENIZER. Part of dedupe, recorded on the job.
    chunk_by: ChunkUnit = ChunkUnit.CHARACTERS
    # The tokenizer of chunk_by=tokens and of every chunk's token_count: cl100k_base (OpenAI's
    # text-embedding-3-small/-large and ada-002). Its BPE file ships in the worker package.
    tokenizer: Tokenizer = Tokenizer.CL100K_BASE
    # The PDF engine of uploads that do not name one (the `engine` form field); recorded on the job.
    pdf_engine: PdfEngine = PdfEngine.PYPDF
    # What uploads that do not say (the `text_normalization` form field) get: `standard` gives
    # the same searchable text whichever engine read it, `none` the reader's raw text. Part of
    # dedupe, recorded on the job.
    text_normalization: TextNormalization = TextNormalization.STANDARD

    # --- Office, web and e-book formats (docqueue_worker.pipeline.formats) ------------------
    # DOCX, PPTX, XLSX, ODT and EPUB are zip files: more entries than this is document_too_complex.
    max_archive_entries: int = Field(default=10_000, ge=10)
    # Bytes a zip-based document may unpack to, all entries together (a zip bomb is refused
    # before any entry is parsed).
    max_unpacked_bytes: int = Field(default=512 * MIB, ge=MIB)
    # Largest unpacked/packed size ratio of one entry over 1 MiB (XML packs 10-30x; bombs 1000x).
    max_compression_ratio: int = Field(default=200, ge=10)
    # Cells read from a spreadsheet (XLSX, CSV), all sheets together; more is document_too_complex.
    max_sheet_cells: int = Field(default=2_000_000, ge=1000)
    # Element nesting an HTML page (or EPUB chapter) may have; deeper is document_too_complex.
    max_html_depth: int = Field(default=512, ge=32)

    # --- OCR (Tesseract; docqueue_worker.pipeline.ocr) ---------------------------------------
    # When uploads that do not say (the `ocr` form field) are OCRed: auto reads a page by OCR only
    # when its text layer is (almost) empty while it carries drawn content; always; never.
    ocr: OcrMode = OcrMode.AUTO
    # Tesseract languages of uploads that do not say (`ocr_languages`), e.g. "eng+deu".
    ocr_languages: str = Field(default="eng", pattern=OCR_LANGUAGES_PATTERN)
    # Languages the workers carry, comma-separated: the API refuses others (422), a worker refuses
    # to start without them. The worker image ships these four.
    ocr_installed_languages: str = "eng,deu,fra,spa"
    # Pixels one page may be rendered at for OCR; larger pages are rendered at a lower DPI.
    ocr_max_pixels: int = Field(default=40_000_000, ge=1_000_000, le=400_000_000)
    # Resolution pages are rendered at for OCR (Tesseract reads 300 DPI well).
    ocr_dpi: int = Field(default=300, ge=72, le=600)
    # A result whose OCR pages have a lower mean word confidence (0-1) says ocr_low_confidence.
    ocr_low_confidence: float = Field(default=0.6, ge=0, le=1)

    # --- delivery guarantees (see README "Guarantees") -------------------------------------
    # Seconds a delivered-but-unacked message stays invisible before Redis hands it out again.
    visibility_timeout_s: int = Field(default=3600, ge=10)
    # Seconds a run may take before it is stopped cleanly (the job ends dead_lettered / timeout).
    task_soft_time_limit_s: int = Field(default=300, ge=1)
    # Seconds before the pool process is killed and replaced; must exceed the soft limit.
    task_time_limit_s: int = Field(default=330, ge=2)
    # Retries of a transient failure (storage or Redis errors) before retries_exhausted.
    max_retries: int = Field(default=3, ge=0, le=50)
    # First retry delay in seconds; each retry doubles it, with jitter.
    retry_backoff_base_s: float = Field(default=2.0, gt=0)
    # The longest retry delay in seconds.
    retry_backoff_max_s: int = Field(default=300, ge=1)
    # Deliveries of one job before it is dead-lettered as poison (`worker_lost`). Every delivery
    # counts, so this must leave room for the retries.
    max_attempts: int = Field(default=6, ge=1)
    # Seconds of soft shutdown on SIGTERM: running tasks may finish, then the rest is re-queued.
    worker_soft_shutdown_timeout_s: float = Field(default=30.0, ge=0)
    # Tasks a pool process runs before it is replaced (bounds slow leaks in parsers).
    worker_max_tasks_per_child: int = Field(default=200, ge=1)
    # Minimum seconds between two progress writes of one job (stage changes always write).
    progress_interval_s: float = Field(default=0.25, ge=0)
    # A running job refreshes its heartbeat this often; four missed beats and its lease is free.
    heartbeat_interval_s: float = Field(default=5.0, gt=0)

    # --- logging ---------------------------------------------------------------------------
    # Python logging level of every docqueue logger.
    log_level: str = "INFO"
    # json: one object per line (production); text: for a terminal.
    log_format: Literal["json", "text"] = "json"

    # --- URL sources (a task's `source_url`, fetched by the worker; docqueue.sources) --------
    # Accept source_url (tasks and batch members the workers fetch); false: a 422 says so. The
    # workers need egress to the sources (the chart's config.sources.enabled opens it).
    source_urls_enabled: bool = True
    # Hosts a source_url may name, comma-separated; "*.example.com" matches subdomains. Empty: any
    # public host.
    source_allowed_hosts: str = ""
    # Non-public networks a source_url may reach all the same, comma-separated CIDRs (an intranet
    # document server, "10.20.0.0/16"); private, loopback and link-local addresses are refused
    # otherwise, before every request and after every redirect.
    source_allowed_networks: str = ""
    # Allow plain http:// source URLs (development and tests, or an intranet without TLS).
    source_allow_http: bool = False
    # Seconds to connect, and the longest silence between two pieces of a fetched document; a
    # timeout is retried like any transient failure.
    source_timeout_s: float = Field(default=10.0, gt=0, le=120)
    # Seconds one fetch may take from its first request to its last byte; a source still
    # streaming then fails the task (source_timeout). The fetch runs inside the task, so its soft
    # time limit (DOCQUEUE_TASK_SOFT_TIME_LIMIT_S) bounds it too.
    source_max_fetch_s: float = Field(default=120.0, gt=0)
    # Redirects a fetch follows (each target checked like the first); more fail the task.
    source_max_redirects: int = Field(default=5, ge=0, le=20)
    # Buckets an s3://bucket/key source_url may name, comma-separated; read with the workers' S3
    # credentials (those of an s3:// DOCQUEUE_STORAGE_URL, else boto3's own: AWS_* variables, a
    # web identity, an instance profile). Empty: s3:// sources are refused.
    source_s3_buckets: str = ""

    # --- webhooks (docs/events-and-webhooks.md) -------------------------------------------
    # Each also read from its name before webhooks were called webhooks (DOCQUEUE_CALLBACK_...).

    # HMAC-SHA256 key that signs every webhook. Unset: submissions with a callback_url are refused.
    webhook_secret: SecretStr | None = Field(default=None, validation_alias=_env("webhook_secret"))
    # Label docqueue_tasks_finished_total by tenant as well: one series per tenant, so only for a
    # deployment with few tenants (off: no metric label ever names a tenant).
    metrics_tenant_label: bool = False
    # Hosts a callback_url may name, comma-separated; "*.example.com" matches subdomains. Empty: any.
    webhook_allowed_hosts: str = Field(default="", validation_alias=_env("webhook_allowed_hosts"))
    # Allow webhooks to private, loopback and link-local addresses (development and tests only).
    webhook_allow_private: bool = Field(default=False, validation_alias=_env("webhook_allow_private"))
    # Allow plain http:// callback URLs (development and tests only).
    webhook_allow_http: bool = Field(default=False, validation_alias=_env("webhook_allow_http"))
    # Seconds after a task ends during which a failed webhook is retried; then it is given up.
    webhook_max_delivery_s: int = Field(default=3600, ge=10, validation_alias=_env("webhook_max_delivery_s"))
    # Seconds one webhook request may take (connect, send, answer), so a slow receiver costs little.
    webhook_timeout_s: float = Field(default=5.0, gt=0, le=30, validation_alias=_env("webhook_timeout_s"))
    # The API's public base URL (https://docqueue.example.com), for links in webhook events.
    public_url: str | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Explicit arguments first, then the one Redis URL rule, then DOCQUEUE_* variables.
        return (
            init_settings,
            _RedisUrlSource(settings_cls),
            env_settings,
            dotenv_settings,
            file_secret_settings,
        )

    @property
    def effective_broker_url(self) -> str:
        return self.broker_url or self.redis_url

    @property
    def sentinel_password(self) -> str | None:
        return self.redis_sentinel_password.get_secret_value() if self.redis_sentinel_password else None

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, url: str) -> str:
        return check_redis_url(url, "DOCQUEUE_REDIS_URL (or REDIS_URL)")

    @field_validator("broker_url")
    @classmethod
    def _check_broker_url(cls, url: str | None) -> str | None:
        return None if url is None else check_redis_url(url, "DOCQUEUE_BROKER_URL")

    @field_validator("storage_url")
    @classmethod
    def _check_storage_url(cls, url: str) -> str:
        if is_sentinel_url(url) or url.split("://", 1)[0].lower() in ("redis", "rediss"):
            check_redis_url(url, "DOCQUEUE_STORAGE_URL")
        return url

    @property
    def ocr_languages_installed(self) -> frozenset[str]:
        return frozenset(code.strip() for code in self.ocr_installed_languages.split(",") if code.strip())

    @property
    def longest_retry_countdown_s(self) -> float:
        return float(self.retry_backoff_max_s)

    @property
    def lease_s(self) -> float:
        return self.heartbeat_interval_s * 4

    @model_validator(mode="after")
    def _check_webhook_secret(self) -> Self:
        secret = self.webhook_secret.get_secret_value() if self.webhook_secret else None
        if secret is not None and is_placeholder_secret(secret):
            raise ValueError(
                "webhook_secret looks like a placeholder: use at least 32 random characters "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        return self

    @model_validator(mode="after")
    def _check_delivery(self) -> Self:
        if self.task_time_limit_s <= self.task_soft_time_limit_s:
            raise ValueError(
                f"task_time_limit_s ({self.task_time_limit_s}) must be larger than "
                f"task_soft_time_limit_s ({self.task_soft_time_limit_s}): the soft limit is the "
                "clean stop, the hard limit the kill"
            )
        floor = self.task_time_limit_s + self.longest_retry_countdown_s
        if self.visibility_timeout_s <= floor:
            raise ValueError(
                f"visibility_timeout_s ({self.visibility_timeout_s}) must be larger than "
                f"task_time_limit_s + retry_backoff_max_s ({floor:g}): otherwise Redis hands a "
                "running or retry-scheduled task to a second worker and it runs twice"
            )
        if self.max_attempts <= self.max_retries + 1:
            raise ValueError(
                f"max_attempts ({self.max_attempts}) must be larger than max_retries + 1 "
                f"({self.max_retries + 1}): every delivery counts as an attempt"
            )
        if self.default_chunk_overlap >= self.default_chunk_size:
            raise ValueError("default_chunk_overlap must be smaller than default_chunk_size")
        return self


# Words of six letters or more: a random secret contains one by chance only once in billions.
_PLACEHOLDER_MARKS = ("change", "replace", "example", "placeholder", "secret", "password")


def is_placeholder_secret(secret: str) -> bool:
    """Too short to resist guessing, or a value copied from documentation."""
    lowered = secret.strip().lower()
    return len(lowered) < 32 or any(mark in lowered for mark in _PLACEHOLDER_MARKS) or len(set(lowered)) < 8


class _RedisUrlSource(PydanticBaseSettingsSource):
    """`redis_url` from `resolve_redis_url`: DOCQUEUE_REDIS_URL, else REDIS_URL; raises
    `RedisUrlConflict` when both are set and differ."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        if "redis_url" in self.current_state:
            return {}  # given explicitly (Settings(redis_url=...)): the environment is not read
        choice = resolve_redis_url()
        return {"redis_url": choice.url} if choice.variable else {}


S = TypeVar("S", bound=Settings)


def load_settings(settings_cls: type[S], process: str) -> S:
    """A process's settings from its environment, or exit saying why it refuses to start."""
    try:
        return settings_cls()
    except (ValidationError, RedisUrlConflict) as exc:
        sys.exit(f"{process}: refusing to start, the settings are unsafe:\n{exc}")


def log_connections(settings: Settings) -> None:
    """One line at start naming the Redis this process uses and where that came from."""
    logging.getLogger("docqueue.settings").info("Redis: %s", describe_redis_url(settings.redis_url))
