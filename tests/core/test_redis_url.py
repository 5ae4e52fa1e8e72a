"""One rule for which Redis a process uses: DOCQUEUE_REDIS_URL, else REDIS_URL, else the default."""

import pytest

from docqueue.redis_url import (
    DEFAULT_REDIS_URL,
    RedisUrlConflict,
    mask_url,
    resolve_redis_url,
)
from docqueue.settings import Settings


def test_docqueue_variable_wins_over_redis_url_when_both_agree() -> None:
    url = "redis://127.0.0.1:7000/0"
    choice = resolve_redis_url({"DOCQUEUE_REDIS_URL": url, "REDIS_URL": url})
    assert (choice.url, choice.variable) == (url, "DOCQUEUE_REDIS_URL")


def test_redis_url_is_used_when_the_docqueue_variable_is_absent_or_empty() -> None:
    url = "redis://127.0.0.1:7001/2"
    for environ in ({"REDIS_URL": url}, {"REDIS_URL": url, "DOCQUEUE_REDIS_URL": "  "}):
        choice = resolve_redis_url(environ)
        assert (choice.url, choice.variable) == (url, "REDIS_URL")


def test_default_when_neither_is_set() -> None:
    choice = resolve_redis_url({"PATH": "/bin"})
    assert (choice.url, choice.variable) == (DEFAULT_REDIS_URL, None)
    assert "neither variable is set" in choice.describe()


def test_both_set_and_different_is_refused_with_both_names_and_no_password() -> None:
    environ = {"DOCQUEUE_REDIS_URL": "redis://:hunter2hunter2@a:6379/0", "REDIS_URL": "redis://b:6379/0"}
    with pytest.raises(RedisUrlConflict) as refused:
        resolve_redis_url(environ)
    message = str(refused.value)
    assert "DOCQUEUE_REDIS_URL=redis://:***@a:6379/0" in message
    assert "REDIS_URL=redis://b:6379/0" in message
    assert "hunter2" not in message


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://:s3cret@host:6379/0", "redis://:***@host:6379/0"),
        (
            "rediss://default:s3cret@host:6380/1?ssl_cert_reqs=required",
            "rediss://default:***@host:6380/1?ssl_cert_reqs=required",
        ),
        (
            "redis+sentinel://:s3cret@a:26379,b:26379/mymaster/0",
            "redis+sentinel://:***@a:26379,b:26379/mymaster/0",
        ),
        ("redis://host:6379/0", "redis://host:6379/0"),
        ("redis://user@host:6379/0", "redis://user@host:6379/0"),
    ],
)
def test_mask_url_hides_only_the_password(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_settings_read_redis_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCQUEUE_REDIS_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:7002/3")
    assert Settings().redis_url == "redis://127.0.0.1:7002/3"


def test_settings_refuse_a_conflict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCQUEUE_REDIS_URL", "redis://127.0.0.1:7003/0")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:7004/0")
    with pytest.raises(RedisUrlConflict, match="both set and differ"):
        Settings()


def test_an_explicit_argument_does_not_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCQUEUE_REDIS_URL", "redis://127.0.0.1:7003/0")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:7004/0")
    assert Settings(redis_url="redis://127.0.0.1:7005/0").redis_url == "redis://127.0.0.1:7005/0"
