"""An API client over a real SQLite store in tmp_path, with a dispatcher that runs nothing,
and the example definitions as the payloads a designer or the CLI would send."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from chalice.test import Client, HTTPResponse

from app import app
from chalicelib.api.context import ApiContext, configure
from chalicelib.services.dispatch import RecordingDispatcher
from chalicelib.store.sqlite import SqliteStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
JSON = {"Content-Type": "application/json"}


def example_components() -> list[dict[str, Any]]:
    paths = sorted((EXAMPLES / "components").glob("*/component.yaml"))
    return [yaml.safe_load(path.read_text(encoding="utf-8")) for path in paths]


def example_component(name: str) -> dict[str, Any]:
    path = EXAMPLES / "components" / name / "component.yaml"
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def example_workflow(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(
        (EXAMPLES / "workflows" / f"{name}.yaml").read_text(encoding="utf-8")
    )
    return document


class Api:
    """The test client with JSON in and out, so tests read as the requests they make."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def get(self, path: str) -> HTTPResponse:
        return self.client.http.get(path)

    def delete(self, path: str) -> HTTPResponse:
        return self.client.http.delete(path)

    def post(self, path: str, body: Any) -> HTTPResponse:
        return self.send("POST", path, json.dumps(body).encode())

    def put(self, path: str, body: Any) -> HTTPResponse:
        return self.send("PUT", path, json.dumps(body).encode())

    def send(self, method: str, path: str, raw: bytes) -> HTTPResponse:
        return self.client.http.request(method, path, headers=JSON, body=raw)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "api.db") as store:
        yield store


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    return RecordingDispatcher()


@pytest.fixture
def client(store: SqliteStore, dispatcher: RecordingDispatcher) -> Iterator[Client]:
    configure(ApiContext(store=store, logs=store, dispatcher=dispatcher))
    with Client(app) as client:
        yield client


@pytest.fixture
def api(client: Client) -> Api:
    return Api(client)


def error_of(response: HTTPResponse) -> dict[str, Any]:
    body: dict[str, Any] = response.json_body
    error: dict[str, Any] = body["error"]
    return error


def problem_paths(response: HTTPResponse) -> list[str]:
    return [detail["path"] for detail in error_of(response).get("details", [])]
