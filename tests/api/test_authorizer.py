"""The api_token authorizer as API Gateway invokes it (a TOKEN event): a valid token gets a
policy for the whole API, which the gateway may reuse for that token's next requests; any
refusal fails with exactly "Unauthorized" (API Gateway's 401), naming why only in the log."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from chalice.app import AuthRequest

import app
from chalicelib.api.authorizer import (
    GATEWAY_REFUSAL,
    TokenAuthorizer,
    TokenRefused,
    token_authorizer,
    use_token_checker,
)
from chalicelib.config import API_TOKENS_SECRET_VARIABLE, ConfigurationError
from chalicelib.domain.api_tokens import Refusal, TokenHashes, issue_token
from chalicelib.errors import ServiceUnavailable, Unauthorized
from chalicelib.services.token_check import TokenChecker
from tests.aws import fake_aws_environment
from tests.fakes.token_hashes import InMemoryTokenHashes

NOW = 1_800_000_000.0
METHOD_ARN = ("arn:aws:execute-api:us-east-1:123456789012:abc123/api/POST"
              "/api/namespaces/demo/workflows/ci/runs")


def checker_of(*records: Any) -> tuple[TokenChecker, InMemoryTokenHashes]:
    source = InMemoryTokenHashes(TokenHashes(tuple(records)))
    return TokenChecker(source, lambda: NOW), source


def event(authorization: str) -> dict[str, Any]:
    return {"type": "TOKEN", "authorizationToken": authorization, "methodArn": METHOD_ARN}


@pytest.fixture(autouse=True)
def fresh_authorizer() -> Any:
    use_token_checker(None)
    yield
    use_token_checker(None)


def test_a_valid_token_is_allowed_every_route_of_the_api() -> None:
    issued = issue_token("ci", NOW)
    checker, _ = checker_of(issued.record)
    use_token_checker(checker)
    answer = app.api_token(event(f"Bearer {issued.token}"), None)
    assert answer["principalId"] == issued.record.id
    assert answer["context"] == {"token_name": "ci"}
    (statement,) = answer["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "execute-api:Invoke"
    # the whole stage of this API: API Gateway reuses the cached policy for any route
    assert statement["Resource"] == ["arn:aws:execute-api:us-east-1:123456789012:abc123/api/*/*"]


@pytest.mark.parametrize(("authorization", "refusal"), [
    ("", Refusal.MISSING), ("Basic dXNlcjpwYXNz", Refusal.MISSING), ("Bearer hunter2", Refusal.MALFORMED),
    ("Bearer co_0123456789ab_" + "A" * 43, Refusal.UNKNOWN),
])
def test_a_refused_token_fails_with_the_message_api_gateway_makes_a_401_of(
        authorization: str, refusal: Refusal, caplog: pytest.LogCaptureFixture) -> None:
    use_token_checker(checker_of(issue_token("ci", NOW).record)[0])
    with caplog.at_level(logging.INFO, logger="containerops.api"), pytest.raises(TokenRefused) as refused:
        app.api_token(event(authorization), None)
    assert str(refused.value) == GATEWAY_REFUSAL == "Unauthorized"
    assert refused.value.reason is refusal and isinstance(refused.value, Unauthorized)
    assert refusal.value in caplog.text
    secret_part = authorization.partition(" ")[2]
    assert not secret_part or secret_part not in caplog.text  # the log never holds a token


def test_an_expired_token_is_refused() -> None:
    issued = issue_token("visitor", NOW - 7200, NOW - 3600)
    authorizer = TokenAuthorizer(checker_of(issued.record)[0])
    with pytest.raises(TokenRefused) as refused:
        authorizer(AuthRequest("TOKEN", f"Bearer {issued.token}", METHOD_ARN))
    assert refused.value.reason is Refusal.EXPIRED


def test_a_token_list_that_cannot_be_read_is_not_a_refusal_but_a_failure() -> None:
    checker, source = checker_of()
    source.unreachable()
    with pytest.raises(ServiceUnavailable) as failed:
        TokenAuthorizer(checker)(AuthRequest("TOKEN", "Bearer " + issue_token("ci", NOW).token, METHOD_ARN))
    assert str(failed.value) != GATEWAY_REFUSAL  # API Gateway's AUTHORIZER_FAILURE, not a 401


def test_the_authorizer_needs_the_secret_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(API_TOKENS_SECRET_VARIABLE, raising=False)
    with pytest.raises(ConfigurationError, match=API_TOKENS_SECRET_VARIABLE):
        token_authorizer()


def test_the_authorizer_is_built_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_aws_environment(monkeypatch)  # a client is made, never called
    monkeypatch.setenv(API_TOKENS_SECRET_VARIABLE, "arn:aws:secretsmanager:us-east-1:123456789012:secret:t-1")
    assert token_authorizer() is token_authorizer()
