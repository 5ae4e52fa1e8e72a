"""Which Redis a process uses, decided the same way by every entry point.

`DOCQUEUE_REDIS_URL`, else `REDIS_URL` (the convention of PaaS add-ons and of `make run`), else
the default. Both set to different URLs is refused: a process that silently picked one would
write API keys or jobs into a Redis the rest of the stack never reads.
"""

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

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
