"""botocore's errors from CloudWatch Logs, translated into the project's (chalicelib/errors.py).

The one place where a CloudWatch Logs error code becomes a ContainerOps error:

    ResourceNotFoundException            -> NotFound (a log group that is not there)
    InvalidParameterException,
    ValidationException                  -> InvalidRequest (CloudWatch refused a parameter)
    throttling, service unavailable,
    access denied, unreachable endpoint  -> StoreUnavailable (the log store cannot serve now)
    anything else                        -> StoreUnavailable, its code in the message

The readers' own decisions on a code (a missing stream reads as empty, a refused token means
reading from the head) are made where the call is made, before anything reaches here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import ContainerOpsError, InvalidRequest, NotFound, StoreUnavailable

_INVALID = frozenset({"InvalidParameterException", "ValidationException"})


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def translated(exc: ClientError | BotoCoreError, doing: str) -> ContainerOpsError:
    """The ContainerOps error for a failed CloudWatch Logs call; `doing` says what failed
    ("reading log stream x of group y")."""
    if isinstance(exc, BotoCoreError):  # no answer at all: endpoint, connection, timeout
        return StoreUnavailable(f"CloudWatch Logs is unreachable while {doing}: {exc}")
    code = error_code(exc)
    message = str(exc.response.get("Error", {}).get("Message", "")) or code
    if code == "ResourceNotFoundException":
        return NotFound(f"CloudWatch Logs found nothing while {doing}: {message}")
    if code in _INVALID:
        return InvalidRequest(f"CloudWatch Logs refused a parameter while {doing}: {message}")
    return StoreUnavailable(f"CloudWatch Logs failed while {doing} ({code}): {message}")


@contextmanager
def cloudwatch_errors(doing: str) -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise translated(exc, doing) from exc
