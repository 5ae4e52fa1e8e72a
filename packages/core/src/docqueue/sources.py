"""A task's `source_url`: where a worker fetches the document instead of receiving an upload.

`https://...` URLs follow the egress rules webhooks follow (docqueue.egress): https only unless
allowed, the host on DOCQUEUE_SOURCE_ALLOWED_HOSTS when it is set, and every address public unless
its network is on DOCQUEUE_SOURCE_ALLOWED_NETWORKS. `s3://bucket/key` URLs name an object the
workers read with their own S3 credentials, so only buckets on DOCQUEUE_SOURCE_S3_BUCKETS may be
named: a tenant must never read a bucket because the service can.
"""

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from docqueue.egress import MAX_URL_CHARS, EgressPolicy, UrlRefused, parse_hosts, parse_networks
from docqueue.settings import Settings


@dataclass(frozen=True)
class S3Source:
    url: str
    bucket: str
    key: str


def source_policy(settings: Settings) -> EgressPolicy:
    """The URL rules of http(s) sources, from the deployment's settings."""
    return EgressPolicy(
        "source",
        parse_hosts(settings.source_allowed_hosts),
        settings.source_allow_http,
        allowed_networks=parse_networks(settings.source_allowed_networks),
    )


def is_s3(url: str) -> bool:
    return url[:5].lower() == "s3://"


def parse_s3_source(url: str, settings: Settings) -> S3Source:
    """`s3://bucket/key` with the bucket on DOCQUEUE_SOURCE_S3_BUCKETS, or UrlRefused (reasons
    `invalid_url`, `scheme_not_allowed`, `bucket_not_allowed`)."""
    if len(url) > MAX_URL_CHARS or not url.isprintable():
        raise UrlRefused("invalid_url", f"the source URL must be 1-{MAX_URL_CHARS} printable characters")
    parts = urlsplit(url)
    bucket, key = parts.netloc, unquote(parts.path.lstrip("/"))
    if not bucket or not key or parts.query or parts.fragment:
        raise UrlRefused("invalid_url", "an S3 source is s3://bucket/key, without a query")
    allowed = parse_hosts(settings.source_s3_buckets)
    if not allowed:
        raise UrlRefused("scheme_not_allowed", "this docqueue reads no s3:// sources")
    if bucket.lower() not in allowed:
        raise UrlRefused("bucket_not_allowed", f"S3 sources in bucket {bucket} are not allowed here")
    return S3Source(url, bucket, key)


def source_filename(url: str) -> str:
    """The name a fetched document is shown under: the URL's last path segment, else its host."""
    parts = urlsplit(url)
    name = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    return name or parts.netloc


# What a source job's record says until the worker has fetched it (then the sniffed type).
UNKNOWN_MEDIA_TYPE = "application/octet-stream"
