"""The log cursors' key of a deployment: read from the stack's secret when first needed, the
same in every process, and never the reason a read fails."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.aws.token_key import shared_token_key
from tests.aws import REGION, fake_aws_environment


@pytest.fixture
def secrets_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake_aws_environment(monkeypatch)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


class CountingClient:
    def __init__(self, client: Any) -> None:
        self.client, self.calls = client, 0

    def get_secret_value(self, **parameters: Any) -> Any:
        self.calls += 1
        return self.client.get_secret_value(**parameters)


def test_every_process_reading_the_stacks_secret_signs_with_the_same_key(secrets_client: Any) -> None:
    arn = secrets_client.create_secret(Name="log-cursor-key", SecretString="s" * 64)["ARN"]
    other = secrets_client.create_secret(Name="another-key", SecretString="t" * 64)["ARN"]
    first, second = shared_token_key(secrets_client, arn)(), shared_token_key(secrets_client, arn)()
    assert first == second and len(first) == 32
    assert shared_token_key(secrets_client, other)() != first


def test_the_secret_is_read_only_when_the_key_is_asked_for(secrets_client: Any) -> None:
    arn = secrets_client.create_secret(Name="log-cursor-key", SecretString="s" * 64)["ARN"]
    counting = CountingClient(secrets_client)
    key = shared_token_key(counting, arn)  # type: ignore[arg-type]
    assert counting.calls == 0
    key()
    assert counting.calls == 1


def test_a_secret_that_cannot_be_read_gives_a_key_of_the_process_own_and_says_so(
        secrets_client: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="containerops.aws"):
        first = shared_token_key(secrets_client, "no-such-secret")()
        second = shared_token_key(secrets_client, "no-such-secret")()
    assert len(first) == 32 and first != second
    assert "could not be read" in caplog.records[0].getMessage()
