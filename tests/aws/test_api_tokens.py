"""The API token hashes in Secrets Manager (moto): the stack's secret starts with no token,
tokens made, rotated and revoked through it are what the authorizer's check then sees, two
writers at once lose nothing, and every failure is one of the project's errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.aws.api_tokens import (
    EMPTY_LIST,
    SecretsManagerTokenHashes,
    region_of,
    token_admin,
    token_checker,
)
from chalicelib.config import ConfigurationError
from chalicelib.domain.api_tokens import Refusal, TokenHashes, issue_token
from chalicelib.errors import Conflict, NotFound, ServiceUnavailable
from tests.aws import REGION, fake_aws_environment

NOW = 1_800_000_000.0


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake_aws_environment(monkeypatch)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


@pytest.fixture
def secret(client: Any) -> str:
    """The stack's ApiTokenHashes, as the template makes it."""
    initial = '{"format": "containerops-api-tokens/1", "tokens": []}'
    arn: str = client.create_secret(Name="ApiTokenHashes-x1", SecretString=initial)["ARN"]
    return arn


def test_the_stacks_secret_starts_with_no_valid_token(client: Any, secret: str) -> None:
    assert SecretsManagerTokenHashes(client, secret).read() == TokenHashes()
    assert token_checker(secret, client).check("Bearer " + issue_token("ci", NOW).token) is Refusal.UNKNOWN
    assert TokenHashes.parse(EMPTY_LIST) == TokenHashes()


def test_a_created_token_is_accepted_and_the_secret_holds_only_its_hash(client: Any, secret: str) -> None:
    issued = token_admin(secret, client).create("deploy")
    assert token_checker(secret, client).check(f"Bearer {issued.token}") == issued.record
    # (AWSCURRENT named: moto 5.2.5 does not follow update_secret_version_stage otherwise)
    stored = client.get_secret_value(SecretId=secret, VersionStage="AWSCURRENT")["SecretString"]
    assert issued.token not in stored
    assert [t["id"] for t in json.loads(stored)["tokens"]] == [issued.record.id]


def test_rotation_and_revocation_reach_a_new_check_without_a_redeploy(client: Any, secret: str) -> None:
    admin = token_admin(secret, client)
    old = admin.create("ci")
    new = admin.rotate(old.record.id, overlap=3600)
    check = token_checker(secret, client)
    assert check.check(f"Bearer {old.token}") == SecretsManagerTokenHashes(client, secret).read().find(
        old.record.id)
    assert check.check(f"Bearer {new.token}") == new.record
    admin.revoke(old.record.id)
    assert token_checker(secret, client).check(f"Bearer {old.token}") is Refusal.UNKNOWN
    assert token_checker(secret, client).check(f"Bearer {new.token}") == new.record
    assert [t.id for t in admin.list()] == [new.record.id]


class OneWriterInBetween:
    """Secrets Manager as seen by a writer whose change another writer overtakes once: the other
    one's version becomes current between this one's read and its move of AWSCURRENT."""

    def __init__(self, client: Any, secret: str) -> None:
        self.client, self.secret, self.done = client, secret, False
        self.other = issue_token("made-elsewhere", NOW)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def update_secret_version_stage(self, **parameters: Any) -> Any:
        if not self.done:
            self.done = True
            token_admin(self.secret, self.client).create("made-elsewhere")
        return self.client.update_secret_version_stage(**parameters)


def test_a_writer_overtaken_by_another_computes_its_change_again_and_loses_nothing(
        client: Any, secret: str) -> None:
    racing = OneWriterInBetween(client, secret)
    mine = token_admin(secret, racing).create("ci")
    names = sorted(t.name for t in token_admin(secret, client).list())
    assert names == ["ci", "made-elsewhere"]
    assert token_checker(secret, client).check(f"Bearer {mine.token}") == mine.record


class AlwaysOvertaken(OneWriterInBetween):
    def update_secret_version_stage(self, **parameters: Any) -> Any:
        token_admin(self.secret, self.client).create("made-elsewhere")
        return self.client.update_secret_version_stage(**parameters)


def test_a_writer_overtaken_every_time_gives_up_with_a_conflict(client: Any, secret: str) -> None:
    with pytest.raises(Conflict, match="try again"):
        SecretsManagerTokenHashes(AlwaysOvertaken(client, secret), secret, attempts=3).update(
            lambda hashes: hashes.adding(issue_token("ci", NOW).record))
    assert "ci" not in {t.name for t in token_admin(secret, client).list()}


def test_a_missing_secret_is_not_found(client: Any) -> None:
    with pytest.raises(NotFound, match="ApiTokenHashesArn"):
        token_admin("no-such-secret", client).list()


def test_a_secret_holding_something_else_is_a_misconfiguration(client: Any) -> None:
    arn = client.create_secret(Name="wrong", SecretString="hunter2")["ARN"]
    with pytest.raises(ConfigurationError, match="does not hold a token list"):
        token_checker(arn, client).check("Bearer " + issue_token("ci", NOW).token)
    binary = client.create_secret(Name="binary", SecretBinary=b"\x00\x01")["ARN"]
    with pytest.raises(ConfigurationError, match="binary"):
        token_admin(binary, client).list()


class Refusing:
    def get_secret_value(self, **parameters: Any) -> Any:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetSecretValue")


def test_a_secret_that_cannot_be_read_is_service_unavailable_naming_why(secret: str) -> None:
    with pytest.raises(ServiceUnavailable, match="AccessDeniedException"):
        SecretsManagerTokenHashes(Refusing(), secret).read()  # type: ignore[arg-type]


def test_an_arn_names_the_region_to_call() -> None:
    assert region_of("arn:aws:secretsmanager:eu-west-3:123456789012:secret:ApiTokenHashes-x1") == "eu-west-3"
    assert region_of("ApiTokenHashes-x1") is None
