"""Where botocore's Step Functions errors meet the project: retries with backoff, and the one
translation of what is left into chalicelib/errors.py's hierarchy.

Every Step Functions call of the adapter goes through `Retrying.call`. A call refused for
load (throttling, a server error) or that got no answer (a dropped connection) was not
applied, or is safe to repeat because every call the adapter makes is idempotent (a machine
created or updated to the same definition, an execution named by its run, a token answered
once), so it is tried again after a jittered exponential pause with the injected `sleep`;
when the attempts are spent it becomes `ServiceUnavailable`. Any other error passes through
so that the caller can decide what its code means (an execution that already exists, a
closed token), and `translated` turns whatever the caller did not handle into:

    throttling, server errors, no answer       -> ServiceUnavailable (after the retries)
    StateMachineDoesNotExist,
    ExecutionDoesNotExist, StateMachineDeleting -> NotFound
    InvalidDefinition                          -> InvalidDefinition (Step Functions refused ASL)
    anything else (access denied, a limit...)  -> ServiceUnavailable, its code in the message
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import ContainerOpsError, InvalidDefinition, NotFound, Problem, ServiceUnavailable

T = TypeVar("T")

THROTTLING_CODES = frozenset({
    "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded",
})
TRANSIENT_CODES = frozenset({
    "ServiceUnavailable", "ServiceUnavailableException", "InternalServerError",
    "InternalServerException", "InternalFailure",
})
NOT_FOUND_CODES = frozenset({"StateMachineDoesNotExist", "ExecutionDoesNotExist", "StateMachineDeleting"})
# A task token whose state has ended (answered, timed out, its execution stopped).
CLOSED_TOKEN_CODES = frozenset({"InvalidToken", "TaskTimedOut", "TaskDoesNotExist"})


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")) or error_code(exc)


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, BotoCoreError) or error_code(exc) in THROTTLING_CODES | TRANSIENT_CODES


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: the n-th pause is anywhere up to
    min(max_delay, base_delay * 2**n). 5 attempts pause 1.5 s at most in all, on top of
    botocore's own retries, well inside a handler's time."""

    attempts: int = 5
    base_delay: float = 0.1
    max_delay: float = 2.0

    def ceiling(self, retry: int) -> float:
        return float(min(self.max_delay, self.base_delay * 2 ** retry))


def full_jitter(ceiling: float) -> float:
    return random.uniform(0.0, ceiling)


DEFAULT_RETRY = RetryPolicy()


class Retrying:
    def __init__(self, sleep: Callable[[float], None], policy: RetryPolicy = DEFAULT_RETRY,
                 jitter: Callable[[float], float] = full_jitter) -> None:
        self._sleep = sleep
        self._policy = policy
        self._jitter = jitter

    def call(self, doing: str, call: Callable[[], T]) -> T:
        """`call()`, tried again while Step Functions refuses it for load or does not answer;
        ServiceUnavailable after the last attempt. Other errors pass through untouched."""
        retry = 0
        while True:
            try:
                return call()
            except (BotoCoreError, ClientError) as exc:
                if not is_retryable(exc):
                    raise
                if retry + 1 >= self._policy.attempts:
                    raise ServiceUnavailable(
                        f"Step Functions {_why(exc)} while {doing}, {self._policy.attempts} attempts"
                    ) from exc
            self._sleep(self._jitter(self._policy.ceiling(retry)))
            retry += 1


def _why(exc: BaseException) -> str:
    code = error_code(exc)
    if code in THROTTLING_CODES:
        return f"throttled the request ({code})"
    if code:
        return f"answered {code}"
    return f"could not be reached ({exc.__class__.__name__})"


def translated_error(exc: BotoCoreError | ClientError, doing: str) -> ContainerOpsError:
    """The ContainerOps error for a Step Functions call that failed; `doing` says what failed
    ("starting the execution of run x")."""
    if isinstance(exc, BotoCoreError) or is_retryable(exc):
        return ServiceUnavailable(f"Step Functions {_why(exc)} while {doing}: {exc}")
    code, message = error_code(exc), error_message(exc)
    if code in NOT_FOUND_CODES:
        return NotFound(f"Step Functions found nothing while {doing}: {message}")
    if code == "InvalidDefinition":
        return InvalidDefinition([Problem("", f"Step Functions refused the state machine: {message}")])
    return ServiceUnavailable(f"Step Functions refused {doing} ({code}): {message}")


@contextmanager
def translated(doing: str) -> Iterator[None]:
    """Turn what botocore raised, and the adapter did not handle, into the project's errors."""
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise translated_error(exc, doing) from exc
