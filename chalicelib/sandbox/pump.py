"""The sandbox's pump: one background thread that plays, in turn, the parts of AWS that react to
state rather than to a request of ours: Lambda's event source on the launch queue, the ECS
agent, and EventBridge for executions that ended (each a `poll() -> bool` saying whether it
found anything to do).

It never spins: between rounds it waits on an event, for `busy_interval` while things are
happening and `idle_interval` when nothing has for a while, and the request observer wakes
it early whenever moto answers a call the parts react to (a message sent, a task started or
stopped, an execution started or stopped, a token answered). A part that fails is logged
with its traceback (at most every `log_every` seconds for the same part, with the count of
the failures in between, so a failure that repeats cannot flood the log) and the pump carries
on with the next part and the next round.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

log = logging.getLogger("containerops.sandbox")

Part = tuple[str, Callable[[], bool]]

BUSY_INTERVAL = 0.02
IDLE_INTERVAL = 0.2
BUSY_FOR = 1.0  # seconds after the last activity during which rounds stay close together
LOG_EVERY = 5.0


class Pump:
    def __init__(self, parts: Sequence[Part], *, busy_interval: float = BUSY_INTERVAL,
                 idle_interval: float = IDLE_INTERVAL, busy_for: float = BUSY_FOR,
                 log_every: float = LOG_EVERY) -> None:
        self._parts = list(parts)
        self._busy_interval = busy_interval
        self._idle_interval = idle_interval
        self._busy_for = busy_for
        self._log_every = log_every
        self._woken = threading.Event()
        self._stopping = threading.Event()
        self._last_logged: dict[str, float] = {}
        self._unlogged: dict[str, int] = {}
        self._rounds = 0
        self._thread = threading.Thread(target=self._pump, name="sandbox-pump", daemon=True)

    @property
    def rounds(self) -> int:
        return self._rounds

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._woken.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        self._woken.set()
        self._thread.join(timeout)

    def _pump(self) -> None:
        last_activity = time.monotonic()
        while not self._stopping.is_set():
            if self.round():
                last_activity = time.monotonic()
            quiet_for = time.monotonic() - last_activity
            interval = self._busy_interval if quiet_for < self._busy_for else self._idle_interval
            if self._woken.wait(interval):
                self._woken.clear()
                last_activity = time.monotonic()

    def round(self) -> bool:
        """Each part once; whether any found something to do."""
        self._rounds += 1
        active = False
        for name, poll in self._parts:
            if self._stopping.is_set():
                break
            try:
                active = poll() or active
            except Exception:
                self._failed(name)
        return active

    def _failed(self, name: str) -> None:
        now = time.monotonic()
        if now - self._last_logged.get(name, -self._log_every) < self._log_every:
            self._unlogged[name] = self._unlogged.get(name, 0) + 1
            return
        self._last_logged[name] = now
        repeats = self._unlogged.pop(name, 0)
        log.exception("the sandbox's %s failed%s; the pump carries on", name,
                      f" (and {repeats} more time(s) since the last report)" if repeats else "")
