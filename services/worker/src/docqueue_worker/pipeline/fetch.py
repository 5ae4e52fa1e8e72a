"""Fetch a task's `source_url` into the blob store, under the limits an upload has.

An https URL is fetched the way a webhook is sent (docqueue.egress): its host is resolved and
every address checked, then the request goes to the checked address (the Host header and TLS name
stay the URL's), no proxy from the environment, and each redirect is checked the same way before it
is followed. The body streams into the blob store, hashed and counted as it comes: more than
DOCQUEUE_MAX_UPLOAD_BYTES stops the fetch (source_too_large), as does a source still streaming after
DOCQUEUE_SOURCE_MAX_FETCH_S (source_timeout). The bytes are sniffed like an upload's. An s3:// URL is
read with the workers' S3 client. Failures are final (the task fails with a `source_*` code) or
transient (the task is retried) by their kind.
"""

import hashlib
import logging
import socket
import ssl
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import httpx

import docqueue
from docqueue.egress import IPAddress, Resolver, Target, UrlRefused, check_url, resolve_target
from docqueue.errors import DocumentError, ErrorCode, TransientError
from docqueue.media import SNIFF_BYTES, MediaType
from docqueue.settings import Settings
from docqueue.sources import is_s3, parse_s3_source, source_policy
from docqueue.storage import BlobStore, BlobWriter
from docqueue_worker.pinned import pinned_client, send_pinned
from docqueue_worker.pipeline.read import media_type_of

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

log = logging.getLogger(__name__)

USER_AGENT = f"docqueue-fetch/{docqueue.__version__}"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
NOT_FOUND = frozenset({404, 410})
FORBIDDEN = frozenset({401, 403, 407})
# Worth another attempt: the source is busy or down for now.
TRANSIENT_STATUSES = frozenset({408, 425, 429})
# Bytes handed to the blob store per write.
WRITE_BATCH_BYTES = 1024 * 1024
# getaddrinfo's answers that mean "this name has no address" (final), not "ask again later".
_NO_SUCH_NAME = frozenset(
    code for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None)) if code
)


@dataclass(frozen=True)
class Fetched:
    """What the fetch stored under the task's upload key."""

    size_bytes: int
    sha256: str
    media_type: MediaType


class _Sink:
    """Counts, hashes, keeps the head of and writes a fetched body, within the size cap."""

    def __init__(self, writer: BlobWriter, max_bytes: int, filename: str) -> None:
        self.writer = writer
        self.max_bytes = max_bytes
        self.filename = filename
        self.size = 0
        self.hasher = hashlib.sha256()
        self.head = bytearray()
        self.pending = bytearray()

    def add(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise DocumentError(
                ErrorCode.SOURCE_TOO_LARGE, f"the source is larger than {self.max_bytes} bytes"
            )
        self.hasher.update(data)
        if len(self.head) < SNIFF_BYTES:
            self.head.extend(data[: SNIFF_BYTES - len(self.head)])
        self.pending.extend(data)
        if len(self.pending) >= WRITE_BATCH_BYTES:
            self.writer.write(bytes(self.pending))
            self.pending.clear()

    def commit(self) -> Fetched:
        if self.size == 0:
            raise DocumentError(ErrorCode.EMPTY_DOCUMENT, "the source answered no bytes")
        media_type = media_type_of(bytes(self.head), self.filename)  # unsupported_type, before commit
        self.writer.write(bytes(self.pending))
        self.pending.clear()
        self.writer.commit()
        return Fetched(self.size, self.hasher.hexdigest(), media_type)


class SourceFetcher:
    """Fetches one source per call into a blob; `check` is called between pieces (it raises to
    stop: a cancel, a lost lease, the soft time limit)."""

    def __init__(
        self,
        blobs: BlobStore,
        settings: Settings,
        resolver: Resolver | None = None,
        clock: Callable[[], float] = time.monotonic,
        s3_client: "Callable[[], S3Client] | None" = None,
    ) -> None:
        self.blobs = blobs
        self.settings = settings
        self.policy = source_policy(settings)
        self.resolver = resolver
        self.clock = clock
        self.s3_client = s3_client
        self.ssl_context = ssl.create_default_context()

    def fetch(self, url: str, blob_key: str, filename: str, check: Callable[[], None]) -> Fetched:
        with self._sink(blob_key, filename) as sink:
            if is_s3(url):
                self._fetch_s3(url, sink, check)
            else:
                self._fetch_http(url, sink, check)
            return sink.commit()

    @contextmanager
    def _sink(self, blob_key: str, filename: str) -> Iterator[_Sink]:
        writer = self.blobs.writer(blob_key, ttl_s=self.settings.retention_s)
        try:
            yield _Sink(writer, self.settings.max_upload_bytes, filename)
        except BaseException:
            writer.abort()
            raise

    # --- http(s) -------------------------------------------------------------------------------

    def _fetch_http(self, url: str, sink: _Sink, check: Callable[[], None]) -> None:
        deadline = self.clock() + self.settings.source_max_fetch_s
        # A client per fetch (docqueue_worker.pinned); the redirects are followed here, each checked.
        with pinned_client(self.settings.source_timeout_s, self.ssl_context) as client:
            for _ in range(self.settings.source_max_redirects + 1):
                target = self._target(url)
                with self._get(client, target) as response:
                    status = response.status_code
                    location = response.headers.get("location")
                    if status in REDIRECTS and location:
                        url = urljoin(url, location)
                        continue
                    _check_status(status)
                    self._stream(response, sink, check, deadline)
                    return
        raise DocumentError(
            ErrorCode.SOURCE_REFUSED,
            f"the source redirected more than {self.settings.source_max_redirects} times",
        )

    def _target(self, url: str) -> tuple[Target, list[IPAddress]]:
        """The checked target of `url` and its checked addresses, or the error that ends the fetch."""
        try:
            target = check_url(url, self.policy)
            return target, resolve_target(target, self.policy, self.resolver)
        except UrlRefused as exc:
            code = (
                ErrorCode.SOURCE_UNRESOLVABLE
                if exc.reason == "unresolvable_host"
                else ErrorCode.SOURCE_REFUSED
            )
            raise DocumentError(code, f"{exc.message} ({url[:200]})") from exc
        except socket.gaierror as exc:
            if exc.errno in _NO_SUCH_NAME:
                raise DocumentError(
                    ErrorCode.SOURCE_UNRESOLVABLE, f"the source host does not resolve: {exc}"
                ) from exc
            raise TransientError(f"resolving the source host failed: {exc}") from exc
        except OSError as exc:
            raise TransientError(f"resolving the source host failed: {exc}") from exc

    @contextmanager
    def _get(self, client: httpx.Client, checked: tuple[Target, list[IPAddress]]) -> Iterator[httpx.Response]:
        target, addresses = checked
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": "*/*",
            # Compressed bodies would be inflated by the client: ask for the bytes as they are.
            "Accept-Encoding": "identity",
        }
        try:
            response = send_pinned(client, "GET", target, addresses, headers)
        except httpx.ConnectError as exc:
            raise TransientError(f"could not connect to the source: {exc}") from exc
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise TransientError(f"requesting the source failed: {type(exc).__name__}: {exc}") from exc
        try:
            yield response
        finally:
            response.close()

    def _stream(
        self, response: httpx.Response, sink: _Sink, check: Callable[[], None], deadline: float
    ) -> None:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > sink.max_bytes:
            raise DocumentError(
                ErrorCode.SOURCE_TOO_LARGE, f"the source is {declared} bytes; the limit is {sink.max_bytes}"
            )
        try:
            for piece in _decoded(response, WRITE_BATCH_BYTES):
                sink.add(piece)
                check()
                if self.clock() > deadline:
                    raise DocumentError(
                        ErrorCode.SOURCE_TIMEOUT,
                        f"the source was still sending after {self.settings.source_max_fetch_s:g} s "
                        f"({sink.size} bytes)",
                    )
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise TransientError(f"reading the source failed: {type(exc).__name__}: {exc}") from exc

    # --- s3 ------------------------------------------------------------------------------------

    def _fetch_s3(self, url: str, sink: _Sink, check: Callable[[], None]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            source = parse_s3_source(url, self.settings)
        except UrlRefused as exc:
            raise DocumentError(ErrorCode.SOURCE_REFUSED, exc.message) from exc
        if self.s3_client is None:
            raise DocumentError(ErrorCode.SOURCE_REFUSED, "this worker has no S3 client")
        deadline = self.clock() + self.settings.source_max_fetch_s
        try:
            answer: Any = self.s3_client().get_object(Bucket=source.bucket, Key=source.key)
            size = int(answer.get("ContentLength") or 0)
            if size > sink.max_bytes:
                raise DocumentError(
                    ErrorCode.SOURCE_TOO_LARGE, f"the source is {size} bytes; the limit is {sink.max_bytes}"
                )
            for piece in answer["Body"].iter_chunks(WRITE_BATCH_BYTES):
                sink.add(piece)
                check()
                if self.clock() > deadline:
                    raise DocumentError(ErrorCode.SOURCE_TIMEOUT, "the S3 source took too long to read")
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            if code in ("NoSuchKey", "NoSuchBucket", "404", "NotFound"):
                raise DocumentError(ErrorCode.SOURCE_NOT_FOUND, f"no such S3 object: {url}") from exc
            if code in ("AccessDenied", "403", "Forbidden", "AllAccessDisabled"):
                raise DocumentError(ErrorCode.SOURCE_FORBIDDEN, f"S3 refused access to {url}") from exc
            raise TransientError(f"reading the S3 source failed: {exc}") from exc
        except BotoCoreError as exc:
            raise TransientError(f"reading the S3 source failed: {exc}") from exc


def _decoded(response: httpx.Response, most: int) -> Iterator[bytes]:
    """The body as the source meant it. Identity was asked for; a source that compresses anyway
    (gzip or deflate) is inflated here, at most `most` bytes at a time, so a compression bomb
    meets the size cap after one piece, never all at once in memory (httpx's own decoding
    inflates a whole network chunk in one call). Other encodings are refused."""
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        yield from response.iter_raw()
        return
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise DocumentError(ErrorCode.SOURCE_FAILED, f"the source sent its bytes encoded as {encoding!r}")
    # wbits 47: a gzip or a zlib header, whichever the stream has.
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)
    try:
        for raw in response.iter_raw():
            data = raw
            while data:
                yield inflater.decompress(data, most)
                data = inflater.unconsumed_tail
        yield inflater.flush()
    except zlib.error as exc:
        raise DocumentError(
            ErrorCode.SOURCE_FAILED, f"the source's {encoding} bytes are corrupt: {exc}"
        ) from exc


def s3_client_of(blobs: BlobStore) -> "Callable[[], S3Client]":
    """The S3 client s3:// sources are read with: the blob store's when it is S3 (its endpoint,
    region and credentials), else one boto3 configures from its own environment. Made on first
    use: boto3 costs a process a fifth of a second to import."""
    made: list[S3Client] = []

    def client() -> "S3Client":
        if not made:
            from docqueue.storage.s3_blobs import S3BlobStore

            if isinstance(blobs, S3BlobStore):
                made.append(blobs.client)
            else:
                import boto3

                made.append(boto3.session.Session().client("s3"))
        return made[0]

    return client


def _check_status(status: int) -> None:
    """Nothing for a success; else the error the answer means."""
    if 200 <= status < 300:
        return
    if status in NOT_FOUND:
        raise DocumentError(ErrorCode.SOURCE_NOT_FOUND, f"the source answered {status}")
    if status in FORBIDDEN:
        raise DocumentError(ErrorCode.SOURCE_FORBIDDEN, f"the source answered {status}")
    if status >= 500 or status in TRANSIENT_STATUSES:
        raise TransientError(f"the source answered {status}")
    raise DocumentError(ErrorCode.SOURCE_FAILED, f"the source answered {status}")
