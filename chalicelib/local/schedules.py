"""The schedule trigger loop of `containerops serve`: a thread asking the schedule service for
the runs cron triggers owe, every `interval`.

What a check decides (which tick is due, marking it before the run starts, one run for ticks
missed while the server was down, disabled workflows) is `services.schedules`, the same
service aws mode calls once a minute; this module only keeps the loop going and stops it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from chalicelib.services.schedules import RunStarter, ScheduleService
from chalicelib.store.base import Store

log = logging.getLogger("containerops.schedules")

DEFAULT_INTERVAL_SECONDS = 15.0


class ScheduleLoop:
    def __init__(
        self,
        store: Store,
        run_starter: RunStarter,
        clock: Callable[[], float],
        interval: float = DEFAULT_INTERVAL_SECONDS,
    ) -> None:
        self._schedules = ScheduleService(store, run_starter, clock)
        self._interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="schedules", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.tick_once()
            except Exception:  # the loop must outlive a bad moment of the store
                log.exception("schedule check failed; trying again in %.0fs", self._interval)
            self._stopping.wait(self._interval)

    def tick_once(self) -> int:
        """Start every run a schedule owes now; returns how many were started."""
        return self._schedules.check(self._stopping.is_set)
