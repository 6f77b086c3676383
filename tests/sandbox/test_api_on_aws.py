"""The API as the deployed APIHandler serves it (aws mode: DynamoDB, Step Functions, CloudWatch
Logs), on the sandbox: a workflow is saved, run and read back with its logs, as the designer's
run view reads them, through the same routes as on `containerops serve`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

import app as application
from chalicelib.domain.models import dump_definition
from tests.sandbox.conftest import RUN_TIMEOUT, Sandbox, example, example_components

NS = "/api/namespaces/examples"


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[Client]:
    application.use_aws(sandbox.aws.services)
    try:
        with Client(application.app) as client:
            yield client
    finally:
        application._aws = None


def call(client: Client, method: str, path: str, body: Any = None) -> Any:
    answer = client.http.request(method, path, headers={"Content-Type": "application/json"},
                                 body=json.dumps(body).encode() if body is not None else b"")
    assert answer.status_code < 300, (answer.status_code, answer.body)
    return json.loads(answer.body)


def test_a_run_started_through_the_api_on_aws_is_read_back_with_its_logs(
    api: Client, sandbox: Sandbox
) -> None:
    created = call(api, "POST", f"{NS}/workflows", dump_definition(example("hello")))
    assert created["version"] >= 1
    run = call(api, "POST", f"{NS}/workflows/hello/runs", {"params": {"who": "aws"}})
    sandbox.aws.wait(run["id"], RUN_TIMEOUT)
    document = call(api, "GET", f"{NS}/runs/{run['id']}")
    assert document["status"] == "succeeded"
    [hello] = document["jobs"]
    assert hello["outputs"] == {"GREETING": "Hello, aws!"}
    page = call(api, "GET", f"{NS}/runs/{run['id']}/jobs/hello/attempts/1/logs?follow=1")
    assert "[COUT] GREETING = Hello, aws!" in [line["text"] for line in page["lines"]]
    assert page["done"] is True


def test_on_aws_the_api_refuses_a_workflow_with_host_mounts(api: Client, sandbox: Sandbox) -> None:
    for component in example_components():
        sandbox.aws.put_component(component)
    answer = api.http.request("POST", f"{NS}/workflows",
                              headers={"Content-Type": "application/json"},
                              body=json.dumps(dump_definition(example("ci"))).encode())
    assert answer.status_code == 400
    problems = json.loads(answer.body)["error"]["details"]
    assert [p["path"] for p in problems] == ["spec.stages[0].actions[0].jobs[0].mounts",
                                             "spec.stages[3].actions[0].jobs[0].mounts"]
    assert all("local-driver feature" in p["message"] for p in problems)
