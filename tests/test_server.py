"""`containerops serve` over real HTTP: a subprocess, a real port, real Docker and SQLite."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from chalicelib.store.sqlite import DB_FILENAME, open_store
from tests.local.conftest import busybox_workflow, shell_job, wait_until

CLI = [sys.executable, "-m", "chalicelib.cli.main"]
TOKEN = "s3cret-token-for-tests"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Server:
    process: subprocess.Popen[str]
    port: int
    data_dir: Path

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Reply(response.status, dict(response.getheaders()), response.read())
        finally:
            connection.close()

    def is_up(self) -> bool:
        try:
            return self.request("GET", "/api/health", headers={"Authorization": f"Bearer {TOKEN}"}
                                ).status == 200
        except OSError:
            return False

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=20)


ServerFactory = Callable[..., Server]


def serve_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "CONTAINEROPS_API_TOKEN"}


def spawn_server(folder: Path, *options: str, name: str = "serve") -> Server:
    """`containerops serve` on a free port with its data directory in `folder`, once it
    answers; its output goes to `folder/<name>.log` (a file: a full pipe would block it)."""
    port = free_port()
    data_dir = folder / "data"
    output = folder / f"{name}.log"
    with output.open("w") as sink:
        process = subprocess.Popen(
            [*CLI, "--data-dir", str(data_dir), "serve", "--port", str(port), *options],
            stdout=sink, stderr=subprocess.STDOUT, text=True, env=serve_environment(),
        )
    server = Server(process, port, data_dir)
    try:
        wait_until(lambda: server.is_up() or process.poll() is not None, deadline_seconds=30)
        assert process.poll() is None, output.read_text()
        assert f"serving http://127.0.0.1:{port}" in output.read_text() or "0.0.0.0" in options
    except BaseException:
        end_server(server)
        raise
    return server


def end_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture
def start_server(tmp_path: Path, docker_engine: docker.DockerClient) -> Iterator[ServerFactory]:
    started: list[Server] = []

    def start(*options: str) -> Server:
        server = spawn_server(tmp_path, *options, name=f"serve-{len(started)}")
        started.append(server)
        return server

    yield start
    for server in started:
        end_server(server)


@pytest.fixture
def server(start_server: ServerFactory, tmp_path: Path) -> Server:
    return start_server("--static-dir", str(tmp_path / "no-designer-here"))


def test_health_answers(server: Server) -> None:
    reply = server.request("GET", "/api/health")
    assert reply.status == 200
    assert reply.json()["status"] == "ok"


def test_without_a_designer_build_the_root_is_a_page_linking_to_the_api(server: Server) -> None:
    reply = server.request("GET", "/")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/html")
    assert b'href="/api/health"' in reply.body
    assert server.request("GET", "/app.js").status == 404


def test_the_designer_build_is_served_and_nothing_outside_it(
    start_server: ServerFactory, tmp_path: Path
) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>designer</title>")
    (dist / "assets" / "app.js").write_text("console.log('designer')")
    (tmp_path / "secret.txt").write_text("not for you")
    server = start_server("--static-dir", str(dist))

    index = server.request("GET", "/")
    script = server.request("GET", "/assets/app.js")

    assert (index.status, index.body) == (200, b"<!doctype html><title>designer</title>")
    assert script.status == 200 and "javascript" in script.headers["Content-Type"]
    assert server.request("GET", "/assets/missing.js").status == 404
    for sneaky in ("/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt",
                   "/assets/%2E%2E/%2E%2E/secret.txt", "/..%2fsecret.txt", "/assets/..\\..\\secret.txt"):
        assert server.request("GET", sneaky).status == 404, sneaky


def test_the_designer_is_told_the_api_is_beside_it(server: Server) -> None:
    reply = server.request("GET", "/config.json")
    assert (reply.status, reply.json()) == (200, {"api": "api"})


def test_directory_traversal_finds_nothing(server: Server) -> None:
    for sneaky in ("/../pyproject.toml", "/%2e%2e/%2e%2e/etc/passwd", "/api/../app.py"):
        assert server.request("GET", sneaky).status == 404, sneaky


def test_an_unknown_api_route_is_a_json_404(server: Server) -> None:
    reply = server.request("GET", "/api/no-such-thing")
    assert reply.status == 404
    assert reply.json()["error"]["code"] == "not_found"


def test_a_body_over_1_mib_is_refused_before_it_is_sent(server: Server) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.putrequest("POST", "/api/namespaces/demo/workflows")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(2 * 1024 * 1024))
        connection.endheaders()  # the body never follows: the answer must not wait for it
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 413
    assert body["error"]["code"] == "payload_too_large"


def test_a_body_over_1_mib_that_is_sent_anyway_gets_a_413(server: Server) -> None:
    reply = server.request("POST", "/api/namespaces/demo/workflows", body=b" " * (2 * 1024 * 1024),
                           headers={"Content-Type": "application/json"})
    assert reply.status == 413


def test_other_host_names_and_cross_origin_changes_are_refused_on_loopback(server: Server) -> None:
    rebound = server.request("GET", "/api/health", headers={"Host": "evil.example:8080"})
    cross_site = server.request("POST", "/api/namespaces/demo/workflows/check", body=b"{}",
                                headers={"Origin": "https://evil.example"})
    assert (rebound.status, rebound.json()["error"]["code"]) == (403, "forbidden")
    assert (cross_site.status, cross_site.json()["error"]["code"]) == (403, "forbidden")


def test_a_run_started_through_the_api_is_executed(server: Server) -> None:
    workflow = busybox_workflow("served", shell_job("hello", "echo '[COUT] GREETING = hi'",
                                                    outputs=["GREETING"]))
    headers = {"Content-Type": "application/json"}
    created = server.request("POST", "/api/namespaces/tests/workflows",
                             body=json.dumps(workflow).encode(), headers=headers)
    assert created.status == 201, created.body
    started = server.request("POST", "/api/namespaces/tests/workflows/served/runs", body=b"{}",
                             headers=headers)
    assert started.status == 201, started.body
    run_path = f"/api/namespaces/tests/runs/{started.json()['id']}"

    finished = wait_until(lambda: (doc := server.request("GET", run_path).json())["status"] in (
        "succeeded", "failed", "cancelled") and doc)

    assert finished["status"] == "succeeded"
    assert finished["jobs"][0]["outputs"] == {"GREETING": "hi"}


def start_a_job_that_waits(server: Server, workflow_name: str) -> tuple[str, str]:
    """Start a run whose job prints 'started', then 'finished' once /workspace/go exists;
    return its id and its job's logs path, once 'started' is stored."""
    workflow = busybox_workflow(workflow_name, shell_job(
        "slow", "echo started; while [ ! -e /workspace/go ]; do sleep 0.1; done; echo finished"))
    headers = {"Content-Type": "application/json"}
    server.request("POST", "/api/namespaces/tests/workflows", json.dumps(workflow).encode(), headers)
    run_id = server.request("POST", f"/api/namespaces/tests/workflows/{workflow_name}/runs", b"{}",
                            headers).json()["id"]
    logs = f"/api/namespaces/tests/runs/{run_id}/jobs/slow/attempts/1/logs"
    wait_until(lambda: server.request("GET", f"{logs}?follow=0").json()["lines"])
    return run_id, logs


def test_a_client_that_disconnects_mid_follow_costs_nothing(server: Server) -> None:
    run_id, logs = start_a_job_that_waits(server, "followed")

    for _ in range(5):  # ask to wait for the next line, then hang up at once
        with socket.create_connection(("127.0.0.1", server.port)) as client:
            client.sendall(f"GET {logs}?after=1&follow=20 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())

    assert server.request("GET", "/api/health").status == 200, "still answering"
    (server.data_dir / "workspaces" / run_id / "go").touch()
    finished = wait_until(lambda: (doc := server.request(
        "GET", f"/api/namespaces/tests/runs/{run_id}").json())["status"] != "running" and doc)
    assert finished["status"] == "succeeded"
    lines = server.request("GET", f"{logs}?follow=0").json()["lines"]
    assert [line["text"] for line in lines] == ["started", "finished"]


def test_clients_waiting_for_lines_hold_up_no_other_request(server: Server) -> None:
    run_id, logs = start_a_job_that_waits(server, "watched")
    followers = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=30) for _ in range(4)]
    try:
        for follower in followers:  # more waiting clients than the server lets work at once
            follower.request("GET", f"{logs}?after=1&follow=20")

        assert server.request("GET", "/api/health").status == 200
        assert server.request("GET", f"/api/namespaces/tests/runs/{run_id}").json()["status"] == "running"
        (server.data_dir / "workspaces" / run_id / "go").touch()
        pages = [json.loads(follower.getresponse().read()) for follower in followers]
    finally:
        for follower in followers:
            follower.close()
    assert [[line["text"] for line in page["lines"]] for page in pages] == [["finished"]] * 4


def test_a_server_stopped_mid_run_finishes_the_run_when_started_again(
    start_server: ServerFactory, tmp_path: Path
) -> None:
    first = start_server("--static-dir", str(tmp_path / "none"))
    workflow = busybox_workflow("restarted", shell_job(
        "gated", "echo before; while [ ! -e /workspace/go ]; do sleep 0.1; done; echo after"))
    headers = {"Content-Type": "application/json"}
    first.request("POST", "/api/namespaces/tests/workflows", json.dumps(workflow).encode(), headers)
    run_id = first.request("POST", "/api/namespaces/tests/workflows/restarted/runs", b"{}",
                           headers).json()["id"]
    logs = f"/api/namespaces/tests/runs/{run_id}/jobs/gated/attempts/1/logs?follow=0"
    wait_until(lambda: first.request("GET", logs).json()["lines"])

    assert first.stop() == 0
    (tmp_path / "data" / "workspaces" / run_id / "go").touch()
    second = start_server("--static-dir", str(tmp_path / "none"))

    finished = wait_until(lambda: (doc := second.request(
        "GET", f"/api/namespaces/tests/runs/{run_id}").json())["status"] != "running" and doc)
    assert finished["status"] == "succeeded"
    assert [line["text"] for line in second.request("GET", logs).json()["lines"]] == [
        "before", "after"]


def test_on_another_address_every_api_call_needs_the_token(start_server: ServerFactory) -> None:
    server = start_server("--host", "0.0.0.0", "--token", TOKEN)

    missing = server.request("GET", "/api/health")
    wrong = server.request("GET", "/api/health", headers={"Authorization": "Bearer nope"})
    right = server.request("GET", "/api/health", headers={"Authorization": f"Bearer {TOKEN}"})

    assert missing.status == 401 and missing.json()["error"]["code"] == "unauthorized"
    assert wrong.status == 401 and wrong.json()["error"]["code"] == "unauthorized"
    assert right.status == 200
    assert server.request("GET", "/").status == 200, "the designer itself is public"


def test_webhooks_are_authenticated_by_their_signature_not_the_token(
    start_server: ServerFactory,
) -> None:
    server = start_server("--host", "0.0.0.0", "--token", TOKEN)
    workflow = busybox_workflow("hooked", shell_job("hello", "echo hi"), triggers=[{"type": "webhook"}])
    created = server.request("POST", "/api/namespaces/tests/workflows", body=json.dumps(workflow).encode(),
                             headers={"Content-Type": "application/json",
                                      "Authorization": f"Bearer {TOKEN}"})
    assert created.status == 201, created.body
    payload = b'{"ref": "refs/heads/main"}'
    signature = hmac.new(created.json()["webhook_secret"].encode(), payload, hashlib.sha256).hexdigest()

    unsigned = server.request("POST", "/api/namespaces/tests/workflows/hooked/webhook", body=payload,
                              headers={"Content-Type": "application/json"})
    signed = server.request("POST", "/api/namespaces/tests/workflows/hooked/webhook", body=payload,
                            headers={"Content-Type": "application/json",
                                     "X-Hub-Signature-256": f"sha256={signature}"})

    assert unsigned.status == 401
    assert signed.status == 202, signed.body
    run_path = f"/api/namespaces/tests/runs/{signed.json()['id']}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    wait_until(lambda: server.request("GET", run_path, headers=headers).json()["status"] == "succeeded")


def test_another_address_without_a_token_is_refused_in_one_sentence(tmp_path: Path) -> None:
    result = subprocess.run(
        [*CLI, "--data-dir", str(tmp_path / "data"), "serve", "--host", "0.0.0.0",
         "--port", str(free_port())],
        capture_output=True, text=True, timeout=60, env=serve_environment(),
    )
    message = " ".join(result.stderr.split())  # the terminal may wrap it
    assert result.returncode == 2
    assert message.startswith("binding 0.0.0.0 exposes the API") and "--token" in message
    assert ". " not in message and "Traceback" not in message


def test_sigterm_stops_the_server_promptly_and_leaves_a_sound_store(server: Server) -> None:
    began = time.monotonic()
    assert server.stop() == 0
    assert time.monotonic() - began < 10

    with sqlite3.connect(server.data_dir / DB_FILENAME) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with open_store(server.data_dir) as store:
        assert store.list_runs().runs == []
