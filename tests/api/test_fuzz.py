"""Property-based fuzzing of the real server against its own OpenAPI description.

schemathesis generates requests from /api/openapi.json (valid and invalid ones) and sends
them to a running `containerops serve`; every answer must be no server error and must
match the description: a documented status, content type and body. One check is left
out: "data valid by the schema is accepted". The API validates more than a JSON Schema
can say (a job's references, known components, a timeout above zero), and answers those
with a documented 400 listing the problems.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator

import docker
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from chalicelib.api.openapi import openapi_document
from tests.local.conftest import EXAMPLES, wait_until
from tests.test_server import CLI, Server, free_port, serve_environment

schema = schemathesis.openapi.from_dict(openapi_document())


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory,
               docker_engine: docker.DockerClient) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("fuzz")
    port = free_port()
    with (folder / "serve.log").open("w") as sink:
        process = subprocess.Popen(
            [*CLI, "--data-dir", str(folder / "data"), "serve", "--port", str(port),
             "--static-dir", str(folder / "no-designer")],
            stdout=sink, stderr=subprocess.STDOUT, text=True, env=serve_environment())
    server = Server(process, port, folder / "data")
    wait_until(lambda: server.is_up() or process.poll() is not None, deadline_seconds=30)
    _seed(server)
    yield f"http://127.0.0.1:{port}"
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def _seed(server: Server) -> None:
    """Something to find: the example components and the hello workflow (one run at a time)."""
    for path in sorted(EXAMPLES.glob("components/*/component.yaml")):
        document = yaml.safe_load(path.read_text())
        server.request("POST", f"/api/namespaces/{document['metadata']['namespace']}/components",
                       json.dumps(document).encode(), {"Content-Type": "application/json"})
    hello = yaml.safe_load((EXAMPLES / "workflows/hello.yaml").read_text())
    hello["spec"]["concurrency"] = 1
    server.request("POST", "/api/namespaces/examples/workflows", json.dumps(hello).encode(),
                   {"Content-Type": "application/json"})


@schema.parametrize()
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
def test_no_answer_is_a_server_error_or_off_the_description(case, server_url: str) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(base_url=server_url, excluded_checks=[positive_data_acceptance])
