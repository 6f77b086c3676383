"""The API tokens' hashes in Secrets Manager: the secret the stack makes (`ApiTokenHashes`,
named by `CONTAINEROPS_API_TOKENS_SECRET`), read by the authorizer and written by
`containerops tokens ...` and the deploy.

The secret holds the JSON list of chalicelib/domain/api_tokens.py, never a token. A change is
written as a compare-and-swap on Secrets Manager's staging labels: the new list is put as a
version labelled `containerops-pending`, then `AWSCURRENT` is moved to it from the version the
change was computed on. If another writer moved `AWSCURRENT` in between, the move is refused;
the change is then computed again on the newer list (a few times at most), so no change is
lost. Every read names `AWSCURRENT` (moto 5.2.5 serves a stale version otherwise).

Errors become the project's: a missing secret is NotFound, an unreadable one (access denied,
no answer) ServiceUnavailable, one holding something else than a token list ConfigurationError.

The functions to call (`token_admin`, `token_checker`) take the secret's ARN or name; an ARN
also names the region to call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.config import ConfigurationError
from chalicelib.domain.api_tokens import TokenHashes
from chalicelib.errors import Conflict, NotFound, ServiceUnavailable
from chalicelib.services.token_admin import TokenAdmin
from chalicelib.services.token_check import CachedTokenHashes, TokenChecker

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

CURRENT_STAGE = "AWSCURRENT"
PENDING_STAGE = "containerops-pending"
WRITE_ATTEMPTS = 5
EMPTY_LIST = TokenHashes().render()  # what the stack's secret holds at first: no valid token


class SecretsManagerTokenHashes:
    def __init__(self, client: SecretsManagerClient, secret_id: str, *,
                 attempts: int = WRITE_ATTEMPTS) -> None:
        self._client, self._secret_id, self._attempts = client, secret_id, attempts

    def read(self) -> TokenHashes:
        return self._read()[0]

    def update(self, change: Callable[[TokenHashes], TokenHashes]) -> TokenHashes:
        for _ in range(self._attempts):
            hashes, version = self._read()
            changed = change(hashes)
            with self._translated():
                pending = self._client.put_secret_value(
                    SecretId=self._secret_id, SecretString=changed.render(), VersionStages=[PENDING_STAGE],
                )["VersionId"]
                if self._made_current(pending, version):
                    return changed
        raise Conflict(f"the API token list in {self._secret_id} kept changing while this change was"
                       " written: try again")

    def _made_current(self, pending: str, read_version: str) -> bool:
        """Move AWSCURRENT to `pending` if it is still on `read_version`; False when another
        writer moved it first."""
        try:
            self._client.update_secret_version_stage(
                SecretId=self._secret_id, VersionStage=CURRENT_STAGE,
                MoveToVersionId=pending, RemoveFromVersionId=read_version,
            )
        except ClientError as exc:
            if _code(exc) == "InvalidParameterException" and self._read()[1] != read_version:
                return False
            raise
        return True

    def _read(self) -> tuple[TokenHashes, str]:
        with self._translated():
            answer = self._client.get_secret_value(SecretId=self._secret_id, VersionStage=CURRENT_STAGE)
        text = answer.get("SecretString")
        if text is None:
            raise ConfigurationError(f"the API token secret {self._secret_id} holds binary data, not a"
                                     " token list")
        return TokenHashes.parse(text), answer["VersionId"]

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except ClientError as exc:
            code = _code(exc)
            if code == "ResourceNotFoundException":
                raise NotFound(f"the API token secret {self._secret_id} does not exist (the stack's"
                               " output ApiTokenHashesArn names it)") from exc
            raise ServiceUnavailable(f"Secrets Manager refused {code or 'a call'} on the API token"
                                     f" secret {self._secret_id}") from exc
        except BotoCoreError as exc:
            raise ServiceUnavailable(f"Secrets Manager cannot be reached: {exc}") from exc


def region_of(secret_id: str) -> str | None:
    """The region an ARN (arn:aws:secretsmanager:REGION:...) names; None for a plain name."""
    parts = secret_id.split(":")
    return (parts[3] or None) if len(parts) > 3 and parts[0] == "arn" else None


def secrets_client(secret_id: str) -> SecretsManagerClient:
    import boto3

    client: SecretsManagerClient = boto3.client("secretsmanager", region_name=region_of(secret_id))
    return client


def token_admin(secret_id: str, client: SecretsManagerClient | None = None,
                clock: Callable[[], float] = time.time) -> TokenAdmin:
    """Create, list, rotate and revoke the tokens kept in `secret_id` (the deploy's and the
    CLI's way in): `token_admin(arn).create("deploy").token` is a new token's text."""
    store = SecretsManagerTokenHashes(client or secrets_client(secret_id), secret_id)
    return TokenAdmin(store, clock)


def token_checker(secret_id: str, client: SecretsManagerClient | None = None) -> TokenChecker:
    """The authorizer's check, reading `secret_id` at most once a minute."""
    source = SecretsManagerTokenHashes(client or secrets_client(secret_id), secret_id)
    return TokenChecker(CachedTokenHashes(source))


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
