"""The deploy's one boundary with botocore's errors: no credentials and no region become a
ConfigurationError that says how to give them; anything AWS refuses becomes DeployFailed
naming the step, the service's error code and its message."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from chalicelib.config import ConfigurationError
from chalicelib.errors import ContainerOpsError, DeployFailed

NO_CREDENTIALS = ("no AWS credentials found: run `aws configure` (or `aws sso login --profile P` and"
                  " AWS_PROFILE=P), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")) or str(exc)


@contextmanager
def translated(step: str) -> Iterator[None]:
    try:
        yield
    except ContainerOpsError:
        raise
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise ConfigurationError(NO_CREDENTIALS) from exc
    except NoRegionError as exc:
        raise ConfigurationError("no AWS region is set: give REGION=eu-west-1") from exc
    except ClientError as exc:
        code = error_code(exc)
        if code in ("ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId",
                    "UnrecognizedClientException", "SignatureDoesNotMatch"):
            raise ConfigurationError(f"AWS refused the credentials ({code}) while {step}: refresh them"
                                     " (`aws sso login`, or new access keys)") from exc
        raise DeployFailed(f"{step}: AWS answered {code}: {error_message(exc)}") from exc
    except BotoCoreError as exc:
        raise DeployFailed(f"{step}: {exc}") from exc
