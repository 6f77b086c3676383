"""ECS's answers in the project's terms: which are worth trying again, and the one place where
they become ContainerOps errors (chalicelib/errors.py).

    ThrottlingException (and the other throttling codes),
    ServerException, no answer at all (connection, timeout)  -> transient: tried again
    RunTask's `failures[]` (RESOURCE:CPU, capacity, AGENT...)  -> TaskNotPlaced: tried again
    anything else (ClientException, InvalidParameterException,
    AccessDeniedException, ClusterNotFoundException...)       -> the operation's error at once

`ecs_retry.Retrying` does the trying again; when it gives up it raises `GaveUp`, and
`ecs_errors` (a context manager around each operation) turns what is left into the operation's
error: LaunchError for starting a task, ServiceUnavailable for finding or stopping one. Every
message says in words what AWS said (its code and message, or each failure's reason and arn),
because a launch error becomes the job's failure reason that a user reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as EndpointUnreachable

from chalicelib.errors import ContainerOpsError

if TYPE_CHECKING:
    from mypy_boto3_ecs.type_defs import FailureTypeDef

THROTTLING_CODES = frozenset({
    "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded",
})
SERVER_CODES = frozenset({"ServerException", "InternalFailure", "ServiceUnavailable",
                          "ServiceUnavailableException"})
CLIENT_EXCEPTION = "ClientException"
INVALID_PARAMETER = "InvalidParameterException"
CONFLICT = "ConflictException"  # a RunTask client token used before with other parameters


class TaskNotPlaced(Exception):
    """RunTask answered without a task: ECS could not place it (its `failures[]`)."""

    def __init__(self, failures: Sequence[FailureTypeDef]) -> None:
        self.failures = list(failures)
        super().__init__(failures_in_words(self.failures))


class GaveUp(Exception):
    """A transient answer that did not go away in the attempts (or the time) allowed."""

    def __init__(self, cause: BaseException, attempts: int) -> None:
        self.cause = cause
        self.attempts = attempts
        super().__init__(f"{in_words(cause)}; still so after {attempts} attempts")


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TaskNotPlaced):
        return True
    if isinstance(exc, ClientError):
        code = error_code(exc)
        return code in THROTTLING_CODES or code in SERVER_CODES
    return isinstance(exc, EndpointUnreachable | HTTPClientError)


def failures_in_words(failures: Sequence[FailureTypeDef]) -> str:
    if not failures:
        return "ECS started no task and reported no failure"
    described = []
    for failure in failures:
        words = failure.get("reason") or "no reason given"
        if failure.get("arn"):
            words += f" (arn {failure['arn']})"
        if failure.get("detail"):
            words += f": {failure['detail']}"
        described.append(words)
    return "ECS could not place the task: " + "; ".join(described)


def in_words(exc: BaseException) -> str:
    if isinstance(exc, TaskNotPlaced | GaveUp):
        return str(exc)
    if isinstance(exc, ClientError):
        code = error_code(exc)
        message = str(exc.response.get("Error", {}).get("Message", "")) or "no message"
        if code in THROTTLING_CODES:
            return f"ECS throttled the request ({code}: {message})"
        if code in SERVER_CODES:
            return f"ECS failed on its side ({code}: {message})"
        return f"ECS refused the request ({code}: {message})"
    return f"ECS could not be reached ({exc.__class__.__name__}: {exc})"


@contextmanager
def ecs_errors(doing: str, error: Callable[[str], ContainerOpsError]) -> Iterator[None]:
    """Whatever ECS answered that the operation did not handle, as `error` ("could not
    <doing>: <what AWS said>"). The project's own errors pass through."""
    try:
        yield
    except (ClientError, BotoCoreError, TaskNotPlaced, GaveUp) as exc:
        raise error(f"could not {doing}: {in_words(exc)}") from exc
