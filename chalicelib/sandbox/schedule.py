"""EventBridge's schedule as the sandbox plays it: the `sweep_running_jobs` function (every
minute on AWS) invoked every `every` seconds, so job timeouts are enforced at the pace of a
test rather than of a deployment (the sweep itself is aws mode's: chalicelib/cloud/sweep.py);
and the `start_scheduled_runs` function (the schedule triggers, every minute on AWS) every
CRON_CHECK_SECONDS.
"""

from __future__ import annotations

import time
from collections.abc import Callable

SWEEP_EVERY_SECONDS = 0.5
CRON_CHECK_SECONDS = 5.0


class Schedule:
    def __init__(self, invoke: Callable[[], None], *, every: float = SWEEP_EVERY_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._invoke = invoke
        self._every = every
        self._clock = clock
        self._next = clock() + every

    def poll(self) -> bool:
        """Invoke when due; never reports activity (a sweep alone keeps nobody busy)."""
        now = self._clock()
        if now >= self._next:
            self._next = now + self._every
            self._invoke()
        return False
