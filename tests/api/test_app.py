"""The app itself: health, its OpenAPI description, and one request per thread."""

from __future__ import annotations

import threading
from typing import Any

from chalice.app import Request

from app import ThreadSafeChalice, app
from chalicelib.api.openapi import ROUTES
from tests.api.conftest import Api


def test_health_answers_ok(api: Api) -> None:
    response = api.get("/api/health")
    assert response.status_code == 200
    assert response.json_body == {"status": "ok", "service": "containerops"}


def test_the_openapi_description_is_served(api: Api) -> None:
    response = api.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.json_body["openapi"].startswith("3.")
    assert "/api/namespaces/{namespace}/workflows/{name}" in response.json_body["paths"]


def test_every_route_of_the_description_is_a_route_of_the_app() -> None:
    described = {(route.method, route.path) for route in ROUTES}
    served = {(method, path) for path, methods in app.routes.items() for method in methods}
    assert described - served == set()
    assert served - described == set()


def _request(path: str) -> Request:
    event: dict[str, Any] = {
        "requestContext": {"httpMethod": "GET", "resourcePath": path, "path": path},
        "headers": {}, "pathParameters": {}, "multiValueQueryStringParameters": None,
        "body": None, "stageVariables": {},
    }
    return Request(event)


def test_each_thread_sees_the_request_it_is_handling() -> None:
    threaded = ThreadSafeChalice(app_name="threads")
    barrier = threading.Barrier(2)
    seen: dict[str, str] = {}

    def handle(path: str) -> None:
        threaded.current_request = _request(path)
        barrier.wait()  # both requests are set before either is read
        request = threaded.current_request
        assert request is not None
        seen[path] = request.path

    threads = [threading.Thread(target=handle, args=(p,)) for p in ("/a", "/b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"/a": "/a", "/b": "/b"}
    assert threaded.current_request is None  # nothing handled on this thread
