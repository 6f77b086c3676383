"""Where PynamoDB and botocore meet the project: retries with backoff, and error translation.

Every DynamoDB call of the store goes through `Backoff.call` (or `Backoff.items` for a query
read page by page). A call that DynamoDB refused for load (throttling, a transaction
conflict, a server error, a dropped connection) was not applied, or may be retried as
botocore would, so it is tried again after a jittered exponential pause, with the injected
`sleep` (tests never wait); when the attempts are spent it becomes `StoreUnavailable`.
`translated` wraps each store operation and turns whatever PynamoDB error is left into the
project's hierarchy (`raise ... from exc`). Conditional failures are not handled here: what
they mean (StaleWrite, NotFound, Conflict, a lost race) depends on the write, so the store
asks `condition_failed` / `cancellation_codes` and decides. One ambiguity stays, as with
botocore's own retries: a single-item conditional write whose first attempt was applied but
whose answer was lost (a 500, a dropped connection) is refused by its own condition when
retried. Transactions avoid it with a ClientRequestToken (see calls.py).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as EndpointUnreachable
from pynamodb.exceptions import PynamoDBException, TransactWriteError

from chalicelib.errors import ContainerOpsError, StoreUnavailable
from chalicelib.store import messages

T = TypeVar("T")

THROTTLING_CODES = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
})
# Also refused before being applied, or retried by botocore's own standard mode.
TRANSIENT_CODES = frozenset({
    "TransactionConflictException", "InternalServerError", "ServiceUnavailable",
})
# Why DynamoDB cancels a transaction item when the item itself was fine.
RETRYABLE_CANCELLATIONS = frozenset({
    "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
})
# The deployment is wrong or gone (table missing, no permission): also nothing to serve with.
UNSERVABLE_CODES = frozenset({
    "ResourceNotFoundException", "AccessDeniedException", "UnrecognizedClientException",
})
CONDITION_FAILED = "ConditionalCheckFailedException"
TRANSACTION_CANCELLED = "TransactionCanceledException"
CONDITION_FAILED_REASON = "ConditionalCheckFailed"


def error_code(exc: BaseException) -> str | None:
    if isinstance(exc, PynamoDBException):
        return exc.cause_response_code
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code")
    return None


def condition_failed(exc: BaseException) -> bool:
    """A single-item write refused by its ConditionExpression."""
    return error_code(exc) == CONDITION_FAILED


def cancellation_codes(exc: BaseException) -> list[str | None]:
    """Per transaction item (in TransactWrite's order: condition checks, deletes, puts,
    updates) the reason it cancelled the transaction, None for the items that were fine."""
    if not isinstance(exc, TransactWriteError) or error_code(exc) != TRANSACTION_CANCELLED:
        return []
    return [reason.code if reason is not None else None for reason in exc.cancellation_reasons]


def is_retryable(exc: BaseException) -> bool:
    code = error_code(exc)
    if code in THROTTLING_CODES or code in TRANSIENT_CODES:
        return True
    if code == TRANSACTION_CANCELLED:
        codes = {c for c in cancellation_codes(exc) if c is not None}
        return bool(codes) and CONDITION_FAILED_REASON not in codes and codes <= RETRYABLE_CANCELLATIONS
    cause = exc.cause if isinstance(exc, PynamoDBException) else exc
    return isinstance(cause, EndpointUnreachable | HTTPClientError)


def _why(exc: BaseException) -> str:
    code = error_code(exc)
    if code in THROTTLING_CODES:
        return f"DynamoDB throttled the request ({code})"
    if code is not None:
        return f"DynamoDB answered {code}"
    return f"DynamoDB could not be reached ({exc.__class__.__name__})"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, as AWS advises for DynamoDB: the n-th pause
    is anywhere up to min(max_delay, base_delay * 2**n), so clients that were throttled
    together do not come back together. 8 attempts pause 2.6 s at most in all."""

    attempts: int = 8
    base_delay: float = 0.025
    max_delay: float = 1.0

    def ceiling(self, retry: int) -> float:
        return float(min(self.max_delay, self.base_delay * 2 ** retry))


def full_jitter(ceiling: float) -> float:
    return random.uniform(0.0, ceiling)


DEFAULT_RETRY = RetryPolicy()


class Backoff:
    def __init__(self, sleep: Callable[[float], None], policy: RetryPolicy = DEFAULT_RETRY,
                 jitter: Callable[[float], float] = full_jitter) -> None:
        self._sleep = sleep
        self._policy = policy
        self._jitter = jitter

    def call(self, action: str, call: Callable[[], T]) -> T:
        """`call()`, tried again while DynamoDB refuses it for load; StoreUnavailable after
        the last attempt. Any other error (a failed condition above all) passes through."""
        retry = 0
        while True:
            try:
                return call()
            except (PynamoDBException, BotoCoreError, ClientError) as exc:
                if not is_retryable(exc):
                    raise
                if retry + 1 >= self._policy.attempts:
                    raise StoreUnavailable(messages.store_unavailable(
                        action, f"{_why(exc)}, {self._policy.attempts} attempts")) from exc
            self.pause(retry)
            retry += 1

    def items(self, action: str, results: Iterator[T]) -> Iterator[T]:
        """The items of a PynamoDB result iterator, each page fetch retried like `call`: a
        page that failed is fetched again from the same key, so nothing repeats or is lost."""
        while True:
            try:
                item = self.call(action, lambda: next(results))
            except StopIteration:
                return
            yield item

    def pause(self, retry: int) -> None:
        """The pause before retry number `retry` + 1 (also used between lost races)."""
        self._sleep(self._jitter(self._policy.ceiling(retry)))


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Turn what PynamoDB or botocore raised, and the store did not handle, into the project's
    errors. A request DynamoDB found malformed (ValidationException) is a bug of ours and
    stays what it is, so that it is seen."""
    try:
        yield
    except ContainerOpsError:
        raise
    except (PynamoDBException, BotoCoreError, ClientError) as exc:
        if is_retryable(exc) or error_code(exc) in UNSERVABLE_CODES:
            raise StoreUnavailable(messages.store_unavailable(action, _why(exc))) from exc
        raise
