"""The document pipeline as pure functions: no Celery, no Redis. The task wires them together."""
