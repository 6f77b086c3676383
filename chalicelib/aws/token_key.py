"""The key that signs the log readers' position tokens, shared by a deployment's processes.

A reader following a log on AWS sends back the token of its last page, so whichever API
process answers next goes on from there instead of reading the CloudWatch Logs stream from
its head; that needs every process to sign with the same key. The stack generates a secret
for it (`LogCursorKey`, named by `CONTAINEROPS_TOKEN_KEY_SECRET`), read once per process and
only when a token is first made or checked: only the API answers readers. A secret that
cannot be read costs speed, never a read: the process signs with a key of its own, and says so.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

log = logging.getLogger("containerops.aws")


def shared_token_key(client: SecretsManagerClient, secret_id: str) -> Callable[[], bytes]:
    """The key, fetched from the secret when first asked for."""
    return lambda: key_from_secret(client, secret_id)


def key_from_secret(client: SecretsManagerClient, secret_id: str) -> bytes:
    try:
        value = client.get_secret_value(SecretId=secret_id).get("SecretString") or ""
    except (ClientError, BotoCoreError) as exc:
        log.warning("the log cursor key %s could not be read (%s): this process signs its"
                    " cursors with a key of its own", secret_id, exc)
        return secrets.token_bytes(32)
    if not value:
        log.warning("the log cursor key %s is empty: this process signs its cursors with a key"
                    " of its own", secret_id)
        return secrets.token_bytes(32)
    return hashlib.sha256(value.encode()).digest()
