"""Trying an ECS operation again while ECS's answer is transient: exponential backoff with
jitter, bounded in attempts and in time.

A launcher Lambda that waits out a capacity shortage must still answer well within its
timeout (and the launch queue's visibility timeout), so the pauses stop at `attempts` tries or
when the next pause would pass `budget` seconds since the first try, whichever comes first;
the caller then reports AWS's last answer (`GaveUp`). Equal jitter (half the ceiling, plus up
to the other half at random) rather than full jitter: a capacity shortage is not helped by a
retry a few milliseconds later, and launchers throttled together still spread out. The
operation receives the number of its try (0 for the first), which RunTask's client token uses.
`sleep`, the clock and the jitter are injected: tests never wait.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from chalicelib.aws.ecs_errors import GaveUp, is_transient

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """5 tries pause at most 1 + 2 + 4 + 8 = 15 s in all; 30 s is the most a try may start
    after the first."""

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 8.0
    budget: float = 30.0

    def ceiling(self, retry: int) -> float:
        return float(min(self.max_delay, self.base_delay * 2**retry))


DEFAULT_RETRY = RetryPolicy()


def equal_jitter(ceiling: float) -> float:
    return ceiling / 2 + random.uniform(0.0, ceiling / 2)


class Retrying:
    def __init__(self, sleep: Callable[[float], None], clock: Callable[[], float],
                 policy: RetryPolicy = DEFAULT_RETRY,
                 jitter: Callable[[float], float] = equal_jitter,
                 transient: Callable[[BaseException], bool] = is_transient) -> None:
        self._sleep = sleep
        self._transient = transient
        self._clock = clock
        self._policy = policy
        self._jitter = jitter

    def call(self, operation: Callable[[int], T]) -> T:
        """`operation(try_number)`, tried again after each transient answer; GaveUp (with the
        last answer as its cause) when the attempts or the budget are spent. Any other error
        passes through at once. What is transient is ECS's rule unless `transient` says
        otherwise (the EKS adapter's, for the Kubernetes API)."""
        started = self._clock()
        tries = 0
        while True:
            try:
                return operation(tries)
            except Exception as exc:
                if not self._transient(exc):
                    raise
                tries += 1
                pause = self._jitter(self._policy.ceiling(tries - 1))
                if tries >= self._policy.attempts or (
                    self._clock() - started + pause > self._policy.budget
                ):
                    raise GaveUp(exc, tries) from exc
            self._sleep(pause)
