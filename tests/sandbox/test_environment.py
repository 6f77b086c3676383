"""The sandbox's process environment: fake credentials and its region while it is open, none of
the machine's AWS configuration within reach, and everything as it was once it closes."""

from __future__ import annotations

import os

import pytest

from chalicelib.config import ConfigurationError
from chalicelib.sandbox import environment
from chalicelib.sandbox.environment import REGION, fake_aws_environment, require_moto


def test_inside_the_credentials_are_fake_and_the_machine_configuration_is_hidden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "https://sqs.example.invalid")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEY")

    with fake_aws_environment():
        assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
        assert os.environ["AWS_DEFAULT_REGION"] == REGION
        assert os.environ["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull
        assert "AWS_PROFILE" not in os.environ and "AWS_ENDPOINT_URL_SQS" not in os.environ


def test_after_the_environment_is_what_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    before = dict(os.environ)

    with fake_aws_environment():
        os.environ["AWS_ENDPOINT_URL"] = "http://set-inside.invalid"

    assert dict(os.environ) == before


def test_without_moto_the_sandbox_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(environment.importlib.util, "find_spec", lambda name: None)

    with pytest.raises(ConfigurationError, match=r"moto, a development dependency: install it with"):
        require_moto()
