"""Settings refuse unsafe delivery combinations at boot."""

import pytest
from pydantic import ValidationError

from docqueue.celery_app import celery_config
from docqueue.settings import Settings


def test_defaults_are_safe() -> None:
    settings = Settings()
    assert settings.visibility_timeout_s > settings.task_time_limit_s + settings.retry_backoff_max_s


def test_visibility_timeout_must_outlast_time_limit_plus_backoff() -> None:
    with pytest.raises(ValidationError, match="runs twice"):
        Settings(
            visibility_timeout_s=600,
            task_time_limit_s=400,
            task_soft_time_limit_s=300,
            retry_backoff_max_s=300,
        )


def test_hard_limit_above_soft_limit() -> None:
    with pytest.raises(ValidationError, match="soft limit"):
        Settings(task_soft_time_limit_s=300, task_time_limit_s=300)


def test_attempts_leave_room_for_retries() -> None:
    with pytest.raises(ValidationError, match="max_attempts"):
        Settings(max_retries=5, max_attempts=6)


def test_celery_config_is_at_least_once_and_json_only() -> None:
    settings = Settings(visibility_timeout_s=1000)
    config = celery_config(settings)
    assert config["task_acks_late"] is True
    assert config["task_reject_on_worker_lost"] is True
    assert config["worker_prefetch_multiplier"] == 1
    assert config["accept_content"] == ["json"]
    assert config["broker_transport_options"]["visibility_timeout"] == 1000
    assert config["task_time_limit"] > config["task_soft_time_limit"]
    queues = {queue.name: (queue.exchange.name, queue.routing_key) for queue in config["task_queues"]}
    assert len(set(queues.values())) == len(queues), "queues share a binding"


def test_a_renamed_setting_is_read_from_its_old_name_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """Webhooks were called callbacks: DOCQUEUE_CALLBACK_* still configures them; the new name wins."""
    monkeypatch.setenv("DOCQUEUE_CALLBACK_TIMEOUT_S", "7")
    assert Settings().webhook_timeout_s == 7
    monkeypatch.setenv("DOCQUEUE_WEBHOOK_TIMEOUT_S", "9")
    assert Settings().webhook_timeout_s == 9
    assert Settings(webhook_timeout_s=3).webhook_timeout_s == 3
