"""Secrets Manager as the source of the values to mask (chalicelib/aws/secrets.py), on moto."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.aws.secrets import SecretsManagerValues, secret_id
from tests.aws import REGION, fake_aws_environment


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake_aws_environment(monkeypatch)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


def test_a_workflows_secret_is_read_under_the_containerops_prefix(client: Any) -> None:
    client.create_secret(Name="containerops/DEPLOY_TOKEN", SecretString="s3cr3t-value-42")
    client.create_secret(Name="DEPLOY_TOKEN", SecretString="not ours")
    assert secret_id("DEPLOY_TOKEN") == "containerops/DEPLOY_TOKEN"
    assert SecretsManagerValues(client).values(["DEPLOY_TOKEN"]) == {"DEPLOY_TOKEN": "s3cr3t-value-42"}


def test_a_secret_that_does_not_exist_is_left_out_with_a_log_line(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("containerops.aws")
    # The Chalice app's "containerops" logger may neither propagate nor let warnings through.
    caplog.set_level(logging.WARNING, logger="containerops.aws")
    logger.addHandler(caplog.handler)
    try:
        assert SecretsManagerValues(client).values(["MISSING"]) == {}
    finally:
        logger.removeHandler(caplog.handler)
    assert "containerops/MISSING" in caplog.text
