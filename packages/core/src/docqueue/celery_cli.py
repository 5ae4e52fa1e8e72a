"""The Celery app for `celery -A docqueue.celery_cli <command>` (Flower, `inspect`, `purge`):
configured from the environment exactly as the services are, so a redis+sentinel:// URL reaches
Celery's command line in kombu's form, with the master's name as a transport option (a bare
`celery --broker URL` cannot say it)."""

from docqueue.celery_app import create_celery_app
from docqueue.settings import Settings, load_settings

app = create_celery_app(load_settings(Settings, "celery"), main="docqueue_cli")
