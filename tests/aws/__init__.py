"""What every test of the AWS path sets before it starts moto: fake credentials, a region,
and no configuration file of the machine's, so nothing can reach (or be signed for) AWS."""

from __future__ import annotations

import os

import pytest

REGION = "us-east-1"


def fake_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    nowhere = os.devnull  # an empty configuration: no profile, no endpoint, no credentials
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION,
                        "AWS_CONFIG_FILE": nowhere, "AWS_SHARED_CREDENTIALS_FILE": nowhere}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
