"""Secrets Manager as the `SecretValues` port: the values of a run's secrets, only to mask them.

A workflow's `${{ secrets.NAME }}` is the Secrets Manager secret `containerops/NAME`: the
prefix the task execution role may read (infra/template.json), so a workflow cannot name any
other secret of the account. ECS gives the values to the container itself (the task
definition's `secrets`); only the log readers fetch them, to replace them with `***`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

SECRET_PREFIX = "containerops/"
log = logging.getLogger("containerops.aws")


def secret_id(name: str) -> str:
    """The Secrets Manager name of a workflow's secret `name`."""
    return SECRET_PREFIX + name


class SecretsManagerValues:
    def __init__(self, client: SecretsManagerClient) -> None:
        self._client = client

    def values(self, names: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for name in names:
            try:
                answer = self._client.get_secret_value(SecretId=secret_id(name))
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code == "ResourceNotFoundException":
                    log.warning("secret %s is not in Secrets Manager: nothing to mask", secret_id(name))
                    continue
                raise StoreUnavailable(f"Secrets Manager refused {secret_id(name)}: {code}") from exc
            except BotoCoreError as exc:
                raise StoreUnavailable(f"Secrets Manager cannot be reached: {exc}") from exc
            if "SecretString" in answer:
                found[name] = answer["SecretString"]
        return found
