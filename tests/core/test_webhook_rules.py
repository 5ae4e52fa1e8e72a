"""The pure parts of webhooks: signatures, the SSRF rules for callback URLs, the signing secret."""

import ipaddress
import json
import time

import pytest
from pydantic import SecretStr, ValidationError

from docqueue.egress import EgressPolicy, UrlRefused, check_url, resolve_target
from docqueue.errors import ErrorCode
from docqueue.jobs.model import Job, JobOptions, JobState
from docqueue.settings import Settings
from docqueue.webhooks import build_event, encode_event, sign, verify_signature

SECRET = "k3y-" + "a1b2c3d4e5f6g7h8" * 3


def test_a_signature_covers_the_timestamp_and_the_exact_body() -> None:
    body = b'{"id":"evt_1","type":"task.succeeded"}'
    now = int(time.time())
    header = sign(SECRET, body, now)
    assert header.startswith(f"t={now},v1=")
    assert verify_signature(SECRET, body, header)
    assert not verify_signature(SECRET, body + b" ", header)
    assert not verify_signature(SECRET + "x", body, header)
    forged_time = header.replace(f"t={now}", f"t={now + 1}")
    assert not verify_signature(SECRET, body, forged_time)


def test_an_old_signature_is_refused_and_any_v1_may_match() -> None:
    body = b"{}"
    old = int(time.time()) - 3600
    assert not verify_signature(SECRET, body, sign(SECRET, body, old))
    assert verify_signature(SECRET, body, sign(SECRET, body, old), now=old + 10)
    rotated = sign(SECRET, body, int(time.time())) + ",v1=" + "0" * 64
    assert verify_signature(SECRET, body, rotated)
    assert not verify_signature(SECRET, body, "garbage")
    assert not verify_signature(SECRET, body, "t=abc,v1=00")


SAFE = EgressPolicy()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/x", "scheme_not_allowed"),
        ("javascript:alert(1)", "scheme_not_allowed"),
        ("https://127.0.0.1/x", "address_not_allowed"),
        ("https://127.1.2.3/x", "address_not_allowed"),
        ("https://[::1]/x", "address_not_allowed"),
        ("https://[fe80::1]/x", "address_not_allowed"),
        ("https://[fd00::1]/x", "address_not_allowed"),
        ("https://[::ffff:10.0.0.1]/x", "address_not_allowed"),
        ("https://172.16.5.4/x", "address_not_allowed"),
        ("https://169.254.169.254/", "address_not_allowed"),
        ("https://239.1.1.1/", "address_not_allowed"),
        ("https://u:p@hooks.example.com/", "invalid_url"),
        ("https:///path-only", "invalid_url"),
        ("https://hooks.example.com/" + "a" * 3000, "invalid_url"),
        ("https://hooks.example.com/\nx", "invalid_url"),
    ],
)
def test_unsafe_urls_are_refused_before_any_lookup(url: str, reason: str) -> None:
    with pytest.raises(UrlRefused) as refused:
        check_url(url, SAFE)
    assert refused.value.reason == reason


def test_the_allow_list_matches_exact_names_and_subdomain_wildcards() -> None:
    policy = EgressPolicy(allowed_hosts=("hooks.example.com", "*.example.org"))
    assert check_url("https://hooks.example.com/x", policy).host == "hooks.example.com"
    assert check_url("https://HOOKS.Example.com./x", policy).host == "hooks.example.com"
    assert check_url("https://a.b.example.org/x", policy).port == 443
    for url in ("https://example.org/x", "https://evil-example.org/x", "https://hooks.example.com.evil.net/"):
        with pytest.raises(UrlRefused) as refused:
            check_url(url, policy)
        assert refused.value.reason == "host_not_allowed"


def test_every_resolved_address_is_checked() -> None:
    target = check_url("https://hooks.example.com:8443/x", SAFE)
    public = resolve_target(target, SAFE, lambda host, port: ["93.184.215.14"])
    assert public == [ipaddress.ip_address("93.184.215.14")]
    # One private answer among public ones is enough to refuse (the client might pick it).
    with pytest.raises(UrlRefused):
        resolve_target(target, SAFE, lambda host, port: ["93.184.215.14", "10.0.0.1"])
    allowed = EgressPolicy(allow_private=True)
    assert resolve_target(target, allowed, lambda host, port: ["10.0.0.1"]) == [
        ipaddress.ip_address("10.0.0.1")
    ]


@pytest.mark.parametrize("secret", ["change-me", "x" * 40, "my-webhook-secret-0123456789abcdefgh", "short"])
def test_settings_refuse_a_placeholder_signing_secret(secret: str) -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(webhook_secret=SecretStr(secret))


def test_settings_accept_a_random_secret_or_none() -> None:
    assert Settings(webhook_secret=SecretStr(SECRET)).webhook_secret is not None
    assert Settings().webhook_secret is None


def test_the_event_is_the_task_with_a_stable_id() -> None:
    job = Job(
        task_id="a" * 32, tenant="t", filename="r.pdf", media_type="application/pdf", size_bytes=10,
        sha256="0" * 64, options=JobOptions(), blob_key="b", created_at=1.0, updated_at=5.0,
        state=JobState.FAILED, error_code=ErrorCode.CORRUPT_DOCUMENT, error_message="bad xref",
        finished_at=5.0,
        callback_url="https://hooks.example.com/x",
    )  # fmt: skip
    event = build_event(job, "https://dq.example.com/")
    assert event["type"] == "task.failed"
    assert event["id"] == build_event(job, None)["id"]  # the same across retries
    assert event["task"]["error"] == {"code": "corrupt_document", "message": "bad xref", "retryable": False}
    assert event["task"]["status_url"] == f"https://dq.example.com/v1/tasks/{'a' * 32}"
    assert event["task"]["finished_at"] == "1970-01-01T00:00:05Z"
    assert json.loads(encode_event(event)) == event
