"""The one Celery application factory every process uses, so broker and delivery settings can
never differ between the API that sends and the workers that consume."""

from typing import Any
from urllib.parse import urlsplit

from celery import Celery
from kombu import Exchange, Queue

from docqueue import kombu_redis, names
from docqueue.redis_url import kombu_broker
from docqueue.settings import Settings


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery settings derived from ours. Kept as data so tests can assert on them."""
    # A redis+sentinel:// URL becomes kombu's sentinel:// form, with the master's name and the
    # sentinels' credentials as transport options (see docqueue.redis_url).
    broker = kombu_broker(settings.effective_broker_url, settings.sentinel_password)
    transport_options = {
        # One visibility timeout for every Redis connection Celery makes (see Settings check).
        "visibility_timeout": settings.visibility_timeout_s,
        "socket_timeout": 10,
        "socket_connect_timeout": 5,
        "health_check_interval": 25,
        "retry_on_timeout": True,
        # The queues a worker consumes are asked in the order given, interactive lane first
        # (docqueue.lanes); kombu's default rotates that order after every message.
        "queue_order_strategy": "priority",
        **broker.transport_options,
    }
    return {
        "broker_url": broker.url,
        # kombu's Redis transport, minus a client object per command (see docqueue.kombu_redis).
        "broker_transport": (
            kombu_redis.transport(sentinel=broker.sentinel)
            if broker.sentinel or urlsplit(broker.url).scheme in ("redis", "rediss")
            else None
        ),
        "broker_transport_options": transport_options,
        **({"broker_use_ssl": broker.use_ssl} if broker.use_ssl else {}),
        "broker_connection_retry_on_startup": True,
        # The job record in Redis is the only state clients read; Celery results are not kept.
        "result_backend": None,
        "task_ignore_result": True,
        "result_backend_transport_options": transport_options,
        # JSON only: a pickle payload from the broker would be code execution.
        "task_serializer": "json",
        "result_serializer": "json",
        "event_serializer": "json",
        "accept_content": ["json"],
        # At-least-once: acked late so a killed worker cannot lose the job, rejected (re-queued)
        # when the pool child dies, and one message at a time so nothing waits behind a long task.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": settings.task_soft_time_limit_s,
        "task_time_limit": settings.task_time_limit_s,
        "worker_max_tasks_per_child": settings.worker_max_tasks_per_child,
        # Soft shutdown: on SIGTERM (remapped to SIGQUIT, see the worker's main) running tasks get
        # this long to finish; what is still running is then re-queued at once, not after the
        # visibility timeout.
        "worker_soft_shutdown_timeout": settings.worker_soft_shutdown_timeout_s,
        "worker_enable_soft_shutdown_on_idle": True,
        "task_default_queue": names.DOCUMENTS_QUEUE,
        # Each queue on its own direct exchange: queues sharing Celery's default exchange and
        # routing key would each receive a copy of every message.
        "task_queues": [
            Queue(queue, Exchange(queue, type="direct"), routing_key=queue) for queue in names.QUEUES
        ],
        "task_routes": {
            task: {"queue": queue, "exchange": queue, "routing_key": queue}
            for task, queue in names.TASK_QUEUES.items()
        },
        "task_create_missing_queues": False,
        # Events feed Flower and the celery-exporter.
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "task_track_started": True,
        "worker_hijack_root_logger": False,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "enable_utc": True,
    }


def create_celery_app(settings: Settings, main: str = "docqueue") -> Celery:
    """A Celery app configured from `settings`; not set as the process's current app."""
    app = Celery(main, set_as_current=False)
    app.conf.update(celery_config(settings))
    return app
