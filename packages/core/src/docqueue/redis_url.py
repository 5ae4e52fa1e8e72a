"""Which Redis a process uses, decided the same way by every entry point.

`DOCQUEUE_REDIS_URL`, else `REDIS_URL` (the convention of PaaS add-ons and of `make run`), else
the default. Both set to different URLs is refused: a process that silently picked one would
write API keys or jobs into a Redis the rest of the stack never reads.
"""

import json
import os
import re
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import redis
import redis.asyncio as aioredis
import redis.asyncio.retry
import redis.asyncio.sentinel
import redis.retry
import redis.sentinel
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# In order of precedence.
REDIS_URL_VARIABLES = ("DOCQUEUE_REDIS_URL", "REDIS_URL")

# The password part of `scheme://[user]:password@host`. kombu's sanitize_url would do, but it
# cannot parse the several hosts of a `redis+sentinel://` URL.
_PASSWORD = re.compile(r"(?P<head>^[a-z][a-z0-9+.-]*://[^/@:]*:)[^/@]*@", re.IGNORECASE)


class RedisUrlConflict(ValueError):
    """`DOCQUEUE_REDIS_URL` and `REDIS_URL` are both set and name different Redis servers."""


@dataclass(frozen=True)
class RedisUrlChoice:
    url: str
    # The environment variable the URL came from; None when it is the default.
    variable: str | None

    def describe(self) -> str:
        """The URL with its password masked and where it came from, for a log line."""
        origin = f"from {self.variable}" if self.variable else "the default: neither variable is set"
        return f"{mask_url(self.url)} ({origin})"


def resolve_redis_url(environ: Mapping[str, str] | None = None) -> RedisUrlChoice:
    environ = os.environ if environ is None else environ
    given = {name: environ[name].strip() for name in REDIS_URL_VARIABLES if environ.get(name, "").strip()}
    if len(set(given.values())) > 1:
        detail = " and ".join(f"{name}={mask_url(url)}" for name, url in given.items())
        raise RedisUrlConflict(
            f"{detail} are both set and differ: set only one of them (DOCQUEUE_REDIS_URL wins when "
            "both name the same Redis)"
        )
    for name in REDIS_URL_VARIABLES:
        if name in given:
            return RedisUrlChoice(given[name], name)
    return RedisUrlChoice(DEFAULT_REDIS_URL, None)


def mask_url(url: str) -> str:
    """`redis://:secret@host/0` -> `redis://:***@host/0`; a URL without a password is unchanged."""
    return _PASSWORD.sub(r"\g<head>***@", url)


def describe_redis_url(url: str) -> str:
    """`url` masked, and the variable it came from when it is the one the environment names."""
    choice = resolve_redis_url()
    return choice.describe() if choice.url == url else f"{mask_url(url)} (given explicitly)"


# --- Sentinel URLs ------------------------------------------------------------------------------
#
# `redis+sentinel://[[user]:password@]host1[:port1][,host2[:port2]...]/<master_name>[/<db>]` names
# a Redis by the sentinels that know its current master; `rediss+sentinel://` is the same over TLS
# (to the sentinels and to the master). The password in the URL is the master's (`requirepass`);
# sentinels that require one of their own take `DOCQUEUE_REDIS_SENTINEL_PASSWORD`. Every client
# docqueue makes (redis-py, kombu, RedBeat, Flower, the celery-exporter) is built from the one
# `SentinelTarget` parsed here, so they all follow the same master.

SENTINEL_SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}
STANDALONE_SCHEMES = ("redis", "rediss", "unix")
DEFAULT_SENTINEL_PORT = 26379
# Seconds a sentinel may take to answer "who is the master?": a dead sentinel is skipped fast.
SENTINEL_SOCKET_TIMEOUT_S = 2.0


class InvalidRedisUrl(ValueError):
    """A Redis URL setting that names no Redis docqueue can connect to; the message names the setting."""


@dataclass(frozen=True)
class SentinelTarget:
    sentinels: tuple[tuple[str, int], ...]
    master_name: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False


def _userinfo(username: str | None, password: str | None) -> str:
    if password is None:
        return f"{quote(username, safe='')}@" if username else ""
    return f"{quote(username or '', safe='')}:{quote(password, safe='')}@"


def is_sentinel_url(url: str) -> bool:
    return url.split("://", 1)[0].lower() in SENTINEL_SCHEMES


def parse_sentinel_url(url: str, setting: str = "redis_url") -> SentinelTarget:
    """The sentinels, master name, database and credentials of a `redis+sentinel://` URL."""

    def invalid(why: str) -> InvalidRedisUrl:
        return InvalidRedisUrl(
            f"{setting}: {mask_url(url)} is not a valid Sentinel URL ({why}); expected "
            "redis+sentinel://[:password@]host1:port1[,host2:port2...]/<master_name>/<db>"
        )

    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in SENTINEL_SCHEMES:
        raise invalid("the scheme must be redis+sentinel or rediss+sentinel")
    rest, _, query = rest.partition("?")
    if query:
        raise invalid("it takes no query parameters")
    netloc, _, path = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    sentinels = tuple(_host_port(part, invalid) for part in hosts.split(","))
    segments = [unquote(segment) for segment in path.split("/")] if path else []
    if not segments or not segments[0]:
        raise invalid("the master name is missing")
    if len(segments) > 2:
        raise invalid("the path is /<master_name>/<db>")
    db_text = segments[1] if len(segments) == 2 and segments[1] else "0"
    if not db_text.isdigit():
        raise invalid(f"the database {db_text!r} is not a number")
    return SentinelTarget(
        sentinels, segments[0], int(db_text), username, password, SENTINEL_SCHEMES[scheme.lower()]
    )


def _host_port(part: str, invalid: Callable[[str], InvalidRedisUrl]) -> tuple[str, int]:
    if not part:
        raise invalid("a sentinel host is empty")
    if part.startswith("["):  # [IPv6]:port
        host, bracket, tail = part[1:].partition("]")
        if not bracket or (tail and not tail.startswith(":")):
            raise invalid(f"{part!r} is not host:port")
        port_text = tail[1:]
    else:
        host, _, port_text = part.partition(":")
    if not host:
        raise invalid(f"{part!r} has no host")
    if not port_text:
        return host, DEFAULT_SENTINEL_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise invalid(f"the port of {part!r} is not a port number")
    return host, int(port_text)


def check_redis_url(url: str, setting: str) -> str:
    """`url` when it names a Redis docqueue can use, else `InvalidRedisUrl` naming `setting`."""
    if is_sentinel_url(url):
        parse_sentinel_url(url, setting)
        return url
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in STANDALONE_SCHEMES:
        raise InvalidRedisUrl(
            f"{setting}: {mask_url(url)} is not a Redis URL; expected redis://, rediss://, unix:// "
            "or redis+sentinel://"
        )
    try:
        redis.connection.parse_url(url)  # type: ignore[no-untyped-call]
    except ValueError as exc:
        raise InvalidRedisUrl(f"{setting}: {mask_url(url)} is not a valid Redis URL ({exc})") from exc
    return url


def _sentinel_kwargs(
    target: SentinelTarget, sentinel_password: str | None, options: Mapping[str, Any]
) -> dict[str, Any]:
    timeout = min(
        float(options.get("socket_timeout") or SENTINEL_SOCKET_TIMEOUT_S), SENTINEL_SOCKET_TIMEOUT_S
    )
    # No retries against a sentinel: the client asks the next one instead. redis-py's default
    # (three retries, backing off from one second) made each dead sentinel cost seconds per
    # question, so with two of three sentinels down a readiness probe took 23 s.
    kwargs: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": redis.retry.Retry(NoBackoff(), 0),
    }
    if sentinel_password:
        kwargs["password"] = sentinel_password
    if target.tls:
        kwargs["ssl"] = True
    return kwargs


def _master_kwargs(target: SentinelTarget, options: Mapping[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"db": target.db, **options}
    if target.username:
        kwargs["username"] = target.username
    if target.password is not None:
        kwargs["password"] = target.password
    if target.tls:
        kwargs["ssl"] = True
    return kwargs


# Commands that meet a dropped connection are sent again on a new one, twice, soon: after a Redis
# restart or a failover every pooled connection is dead, and without this each one fails one
# request before the pool replaces it (redis-py's `from_url` clients do not retry by default).
# Each retry reconnects, which for a Sentinel client means asking the sentinels again.
# Every docqueue write is safe to repeat: the job scripts compare-and-set, creation answers
# with the job it already made, and blob commits are keyed by run.
RECONNECT_RETRIES = 2


def _with_retry(options: Mapping[str, Any], asynchronous: bool) -> dict[str, Any]:
    if "retry" in options:
        return dict(options)
    backoff = ExponentialWithJitterBackoff(base=0.05, cap=0.5)
    retry = (aioredis.retry.Retry if asynchronous else redis.retry.Retry)(backoff, RECONNECT_RETRIES)
    errors = [redis.ConnectionError, redis.TimeoutError]
    return {**options, "retry": retry, "retry_on_error": errors}


def _client(url: str, sentinel_password: str | None, options: Mapping[str, Any], asynchronous: bool) -> Any:
    """`Redis.from_url` for a plain URL, else a client of the master the sentinels name, in
    redis-py's blocking or asyncio flavour."""
    options = _with_retry(options, asynchronous)
    flavour: Any = aioredis if asynchronous else redis
    if not is_sentinel_url(url):
        return flavour.Redis.from_url(url, **options)
    target = parse_sentinel_url(url)
    sentinel = flavour.sentinel.Sentinel(
        list(target.sentinels), sentinel_kwargs=_sentinel_kwargs(target, sentinel_password, options)
    )
    return sentinel.master_for(target.master_name, **_master_kwargs(target, options))


def redis_client(url: str, sentinel_password: str | None = None, **options: Any) -> redis.Redis:
    """A redis-py client for `url`: `Redis.from_url`, or one that follows a Sentinel master
    (it asks the sentinels for the master on every new connection, and drops a connection to a
    master that was demoted). Retries a command on a new connection when its own was dropped."""
    client: redis.Redis = _client(url, sentinel_password, options, asynchronous=False)
    return client


def async_redis_client(url: str, sentinel_password: str | None = None, **options: Any) -> aioredis.Redis:
    """`redis_client` for asyncio."""
    client: aioredis.Redis = _client(url, sentinel_password, options, asynchronous=True)
    return client


@dataclass(frozen=True)
class KombuBroker:
    """What Celery needs to reach the broker: its URL and transport options beyond ours."""

    url: str
    transport_options: dict[str, Any]
    sentinel: bool
    use_ssl: dict[str, Any] | None = None

    def option_arguments(self) -> list[str]:
        """The transport options as `key=value` arguments, values in JSON (the celery-exporter's
        `--broker-transport-option` form)."""
        return [
            f"{key}={value if isinstance(value, str) else json.dumps(_json_safe(value))}"
            for key, value in self.transport_options.items()
        ]


def kombu_broker(url: str, sentinel_password: str | None = None) -> KombuBroker:
    """A `redis+sentinel://` URL in kombu's form: `sentinel://host:port;sentinel://...` with the
    master's credentials on each, and `master_name` and `sentinel_kwargs` as transport options."""
    if not is_sentinel_url(url):
        return KombuBroker(url, {}, sentinel=False)
    target = parse_sentinel_url(url, "broker_url")
    auth = _userinfo(target.username, target.password)
    kombu_url = ";".join(
        f"sentinel://{auth}{_bracketed(host)}:{port}/{target.db}" for host, port in target.sentinels
    )
    options = {
        "master_name": target.master_name,
        "sentinel_kwargs": _sentinel_kwargs(target, sentinel_password, {}),
    }
    use_ssl = {"ssl_cert_reqs": ssl.CERT_REQUIRED} if target.tls else None
    return KombuBroker(kombu_url, options, sentinel=True, use_ssl=use_ssl)


def _json_safe(value: Any) -> Any:
    """`value` without what JSON cannot carry (the sentinels' Retry object: the celery-exporter's
    kombu then uses its own default)."""
    if isinstance(value, dict):
        return {
            key: _json_safe(item) for key, item in value.items() if not isinstance(item, redis.retry.Retry)
        }
    return value


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def redbeat_connection(url: str, sentinel_password: str | None, options: Mapping[str, Any]) -> dict[str, Any]:
    """RedBeat's `redbeat_redis_url` and `redbeat_redis_options` for `url` (RedBeat's own Sentinel
    support: a `redis-sentinel://` URL and the sentinels in the options)."""
    if not is_sentinel_url(url):
        return {"redbeat_redis_url": url, "redbeat_redis_options": dict(options)}
    target = parse_sentinel_url(url)
    redbeat_options: dict[str, Any] = {
        **options,
        "sentinels": list(target.sentinels),
        "service_name": target.master_name,
        "db": target.db,
        "sentinel_kwargs": _sentinel_kwargs(target, sentinel_password, options),
    }
    if target.password is not None:
        redbeat_options["password"] = target.password
    if target.username:
        redbeat_options["username"] = target.username
    config: dict[str, Any] = {
        "redbeat_redis_url": "redis-sentinel://",
        "redbeat_redis_options": redbeat_options,
    }
    if target.tls:
        config["redbeat_redis_use_ssl"] = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    return config
