"""The links an answer gives for a task are the routes' own URLs, under the ingress's root path."""

import pytest
from starlette.requests import Request

from docqueue_api.app import create_app
from docqueue_api.links import task_links
from docqueue_api.settings import ApiSettings


@pytest.mark.parametrize("root_path", ["", "/docqueue"])
def test_task_links_match_the_route_table(root_path: str) -> None:
    app = create_app(ApiSettings())
    scope = {
        "type": "http",
        "app": app,
        "router": app.router,
        "method": "GET",
        "scheme": "https",
        "server": ("docs.example.com", 443),
        "root_path": root_path,
        "path": f"{root_path}/",
        "query_string": b"",
        "headers": [(b"host", b"docs.example.com")],
    }
    request = Request(scope)
    links = task_links(request, "abc123")
    assert links.status_url == f"https://docs.example.com{root_path}/v1/tasks/abc123"
    assert links.result_url == str(request.url_for("tasks_result", task_id="abc123"))
    assert links.events_url == str(request.url_for("tasks_events", task_id="abc123"))
