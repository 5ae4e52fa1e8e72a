"""Live task events: `GET /v1/tasks/{task_id}/events` as Server-Sent Events."""
