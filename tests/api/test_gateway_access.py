"""Access to the API as deployed (app.py in aws mode behind API Gateway's authorizer, the token
hashes in Secrets Manager on moto): a valid token reaches the routes; a missing, malformed,
unknown, revoked or expired one is API Gateway's 401 in the API's own JSON error, and nothing
starts; the webhook answers to its signature alone; browsers are answered from the designer's
origin only, their preflight without a token. Locally nothing of this is attached, and the
local server's 401 reads as the gateway's."""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from chalice.config import Config
from chalice.local import LocalGateway
from moto import mock_aws

import app as local_app
from chalicelib.admission import FairAdmission
from chalicelib.api.authorizer import use_token_checker
from chalicelib.api.context import ApiContext, configure
from chalicelib.aws.api_tokens import EMPTY_LIST, token_admin
from chalicelib.config import API_TOKENS_SECRET_VARIABLE
from chalicelib.domain.models import Workflow
from chalicelib.server import ApiServer
from chalicelib.services.dispatch import RecordingDispatcher
from chalicelib.services.token_admin import TokenAdmin
from chalicelib.services.webhooks import signature_of
from chalicelib.store.sqlite import SqliteStore
from tests.api.gateway import Answer, Gateway, deployed_app, gateway_responses
from tests.aws import REGION, fake_aws_environment
from tests.builders import single_job_doc

ORIGIN = "https://d111111abcdef8.cloudfront.net"
NS = "/api/namespaces/demo"
RUNS = f"{NS}/workflows/ci/runs"
WEBHOOK = f"{NS}/workflows/ci/webhook"
JSON = {"Content-Type": "application/json"}
UNAUTHORIZED = json.loads(gateway_responses()["UNAUTHORIZED"]["responseTemplates"]["application/json"])


@dataclass
class Deployed:
    gateway: Gateway
    app: ModuleType
    store: SqliteStore
    dispatcher: RecordingDispatcher
    tokens: TokenAdmin
    secret: str

    def call(self, method: str, path: str, token: str | None = None, body: Any = None,
             headers: dict[str, str] | None = None) -> Answer:
        sent = {**JSON, **(headers or {})}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        raw = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
        return self.gateway.request(method, path, sent, raw)

    def save_workflow(self) -> str:
        document = single_job_doc(name="build", spec__triggers=[{"type": "api"}, {"type": "webhook"}])
        document["metadata"] = {"namespace": "demo", "name": "ci"}
        self.store.save_workflow(Workflow.model_validate(document))
        return self.store.get_workflow_settings("demo", "ci").webhook_secret

    def nothing_started(self) -> bool:
        return self.store.list_runs().runs == [] and self.dispatcher.submitted == []


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The stack's ApiTokenHashes, named to the authorizer as the template names it."""
    fake_aws_environment(monkeypatch)
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=REGION)
        arn: str = client.create_secret(Name="ApiTokenHashes-x1", SecretString=EMPTY_LIST)["ARN"]
        monkeypatch.setenv(API_TOKENS_SECRET_VARIABLE, arn)
        use_token_checker(None)  # each test is a fresh authorizer container
        try:
            yield arn
        finally:
            use_token_checker(None)


def deploy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, secret: str,
           origin: str | None) -> Iterator[Deployed]:
    with deployed_app(monkeypatch, origin) as module, SqliteStore(tmp_path / "api.db") as store:
        dispatcher = RecordingDispatcher()
        configure(ApiContext(store=store, logs=store, dispatcher=dispatcher))
        yield Deployed(Gateway(module.app, origin or ""), module, store, dispatcher,
                       token_admin(secret), secret)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, secret: str) -> Iterator[Deployed]:
    yield from deploy(monkeypatch, tmp_path, secret, ORIGIN)


# --- tokens ------------------------------------------------------------------------------


def test_a_valid_token_reaches_the_route_and_starts_the_run(api: Deployed) -> None:
    api.save_workflow()
    token = api.tokens.create("ci").token
    answer = api.call("POST", RUNS, token, {"params": {}})
    assert answer.status == 201, answer.body
    assert api.dispatcher.submitted == [answer.json()["id"]]


def expired_token(tokens: TokenAdmin, secret: str) -> str:
    two_days_ago = time.time() - 2 * 86400
    return token_admin(secret, clock=lambda: two_days_ago).create("old", expires_in=86400).token


def revoked_token(tokens: TokenAdmin, secret: str) -> str:
    issued = tokens.create("laptop")
    tokens.revoke(issued.record.id)
    return issued.token


BAD_HEADERS = {
    "no Authorization header": lambda tokens, secret: None,
    "an empty one": lambda tokens, secret: "",
    "another scheme": lambda tokens, secret: "Basic dXNlcjpwYXNz",
    "a bearer of no token": lambda tokens, secret: "Bearer ",
    "a malformed token": lambda tokens, secret: "Bearer hunter2",
    "an unknown token": lambda tokens, secret: "Bearer co_0123456789ab_" + "A" * 43,
    "a revoked token": lambda tokens, secret: "Bearer " + revoked_token(tokens, secret),
    "an expired token": lambda tokens, secret: "Bearer " + expired_token(tokens, secret),
}


@pytest.mark.parametrize("case", sorted(BAD_HEADERS))
def test_a_bad_token_is_the_gateways_401_in_the_apis_error_shape_and_starts_nothing(
        api: Deployed, case: str) -> None:
    api.save_workflow()
    api.tokens.create("ci")  # a valid token exists: it is not the one sent
    authorization = BAD_HEADERS[case](api.tokens, api.secret)
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = api.call("POST", RUNS, body={"params": {}}, headers=headers)
    assert answer.status == 401
    assert answer.json() == UNAUTHORIZED
    assert answer.json() == {"error": {"code": "unauthorized",
                                       "message": "a valid 'Authorization: Bearer <token>' is required"}}
    assert api.nothing_started()


def test_every_route_but_the_webhook_refuses_a_request_without_a_token(api: Deployed) -> None:
    refused = []
    for path, entries in api.app.app.routes.items():
        concrete = re.sub(r"\{[^}]+\}", "x1", path)
        for method in entries:
            if method == "OPTIONS" or path.endswith("/webhook"):
                continue
            answer = api.call(method, concrete, "co_0123456789ab_" + "A" * 43)
            assert (answer.status, answer.json()) == (401, UNAUTHORIZED), (method, path)
            refused.append((method, path))
    assert len(refused) > 20 and api.nothing_started()


def test_an_unreadable_token_list_lets_nobody_in(api: Deployed) -> None:
    token = api.tokens.create("ci").token
    boto3.client("secretsmanager", region_name=REGION).delete_secret(
        SecretId=api.secret, ForceDeleteWithoutRecovery=True)
    answer = api.call("GET", f"{NS}/runs", token)
    assert answer.status == 503 and answer.json()["error"]["code"] == "service_unavailable"


def test_the_webhook_answers_to_its_signature_and_needs_no_token(api: Deployed) -> None:
    webhook_secret = api.save_workflow()
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    unsigned = api.call("POST", WEBHOOK, body=body)
    assert unsigned.status == 401 and unsigned.json() != UNAUTHORIZED  # the route's own refusal
    assert api.nothing_started()
    signed = api.call("POST", WEBHOOK, body=body,
                      headers={"X-Hub-Signature-256": signature_of(body, webhook_secret)})
    assert signed.status == 202 and api.dispatcher.submitted == [signed.json()["id"]]


# --- the designer's origin -----------------------------------------------------------------


def test_the_designers_preflight_needs_no_token_and_is_allowed(api: Deployed) -> None:
    answer = api.gateway.request("OPTIONS", f"{NS}/workflows/ci", {
        "Origin": ORIGIN, "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert answer.status == 204
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
    methods = set(answer.headers["Access-Control-Allow-Methods"].split(", "))
    assert methods == {"GET", "PUT", "DELETE", "OPTIONS"}
    assert {h.lower() for h in answer.headers["Access-Control-Allow-Headers"].split(", ")} >= {
        "authorization", "content-type"}
    assert "Access-Control-Allow-Credentials" not in answer.headers


def test_a_preflight_from_another_origin_gets_no_cors_headers(api: Deployed) -> None:
    answer = api.gateway.request("OPTIONS", RUNS, {"Origin": "https://evil.example",
                                                   "Access-Control-Request-Method": "POST"})
    assert answer.status == 403 and answer.json()["error"]["code"] == "forbidden"
    assert not any(name.startswith("Access-Control-") for name in answer.headers)


def test_answers_carry_the_designers_origin_only_to_the_designer(api: Deployed) -> None:
    token = api.tokens.create("designer").token
    mine = api.call("GET", f"{NS}/runs", token, headers={"Origin": ORIGIN})
    assert mine.status == 200 and mine.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert mine.headers["Vary"] == "Origin"
    theirs = api.call("GET", f"{NS}/runs", token, headers={"Origin": "https://evil.example"})
    assert theirs.status == 200 and "Access-Control-Allow-Origin" not in theirs.headers


def test_the_designer_can_read_why_its_token_was_refused(api: Deployed) -> None:
    answer = api.call("GET", f"{NS}/runs", "co_0123456789ab_" + "A" * 43, headers={"Origin": ORIGIN})
    assert answer.status == 401 and answer.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_without_a_designer_origin_no_browser_origin_is_answered(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, secret: str) -> None:
    for api in deploy(monkeypatch, tmp_path, secret, None):
        token = api.tokens.create("ci").token
        preflight = api.gateway.request("OPTIONS", f"{NS}/runs", {"Origin": ORIGIN})
        assert preflight.status == 403 and "Access-Control-Allow-Origin" not in preflight.headers
        answer = api.call("GET", f"{NS}/runs", token, headers={"Origin": ORIGIN})
        assert answer.status == 200 and "Access-Control-Allow-Origin" not in answer.headers


# --- locally, nothing changes -------------------------------------------------------------


def test_locally_no_route_has_an_authorizer_a_preflight_route_or_cors() -> None:
    entries = [entry for methods in local_app.app.routes.values() for entry in methods.values()]
    assert entries and all(entry.authorizer is None for entry in entries)
    assert all(entry.method != "OPTIONS" and entry.cors is None for entry in entries)
    assert local_app.app.middleware_handlers == []


def test_a_deployed_import_leaves_the_local_app_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.server import load_chalice_app

    with deployed_app(monkeypatch, ORIGIN) as deployed:
        assert deployed.app is not local_app.app
        assert any(entry.authorizer for methods in deployed.app.routes.values() for entry in methods.values())
    assert load_chalice_app() is local_app.app  # what `containerops serve` then serves
    import chalicelib.api.run_routes

    assert chalicelib.api.run_routes.runs is local_app._runs_blueprint


def test_the_local_servers_401_reads_as_the_gateways(tmp_path: Path) -> None:
    server = ApiServer(("127.0.0.1", 0), LocalGateway(local_app.app, Config()), "the-local-token",
                       tmp_path, FairAdmission())
    listener = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    listener.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        connection.request("GET", f"{NS}/runs", headers={"Authorization": "Bearer wrong"})
        response = connection.getresponse()
        status, body = response.status, json.loads(response.read())
        connection.close()
    finally:
        server.shutdown()
        server.server_close()
    assert (status, body) == (401, UNAUTHORIZED)
