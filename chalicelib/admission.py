"""Fair admission: the server's API requests take turns, in the order they arrived.

Requests share one interpreter. Let twenty of them in at once and each gets a twentieth
of it, in whatever order the interpreter's lock happens to be handed around: they all
finish late, and the unlucky ones very late. Measured with 20 clients on 2 cores, the
slowest 1% of log polls took 4-5 times the average. Admitted first come, first served,
a few at a time, a request runs almost without interruption: the average stays what
the work costs, and the slowest 1% came within 1.5 times of it (bench/api.py).

A request that waits for something other than the interpreter (a long poll's pause,
the Docker engine stopping containers) steps out while it waits, so that it never holds
up the requests behind it; it queues again, at the back, to go on.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from chalicelib.services.dispatch import RunDispatcher

DEFAULT_SLOTS = 2  # one runs Python while the other waits on SQLite; more only share


class FairAdmission:
    """A lock with `slots` places, handed over in arrival order."""

    def __init__(self, slots: int = DEFAULT_SLOTS) -> None:
        if slots < 1:
            raise ValueError("admission needs at least one slot")
        self._lock = threading.Lock()
        self._free = slots
        self._queue: deque[threading.Lock] = deque()
        self._inside = threading.local()

    def __enter__(self) -> FairAdmission:
        self._admit()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._leave()

    @property
    def waiting(self) -> int:
        """How many are in line for a place."""
        with self._lock:
            return len(self._queue)

    @property
    def holds_slot(self) -> bool:
        """Whether the calling thread is inside."""
        return bool(getattr(self._inside, "holds", False))

    @contextmanager
    def stepped_out(self) -> Iterator[None]:
        """Give the caller's place to the next in line for the duration, if it has one."""
        if not self.holds_slot:
            yield
            return
        self._leave()
        try:
            yield
        finally:
            self._admit()

    def sleep(self, seconds: float) -> None:
        """`time.sleep`, outside: a long poll's pause holds up nobody."""
        with self.stepped_out():
            time.sleep(seconds)

    def _admit(self) -> None:
        if self.holds_slot:
            raise RuntimeError("this thread is already admitted")
        with self._lock:
            if self._free and not self._queue:
                self._free -= 1
                turn = None
            else:
                turn = threading.Lock()
                turn.acquire()
                self._queue.append(turn)
        if turn is not None:
            turn.acquire()  # released by the one that hands its place over
        self._inside.holds = True

    def _leave(self) -> None:
        self._inside.holds = False
        with self._lock:
            if self._queue:
                self._queue.popleft().release()  # the place goes straight to the next
            else:
                self._free += 1


class SteppingOutDispatcher:
    """A run dispatcher whose calls (which may wait on the Docker engine) happen outside
    the admission: a cancel that stops containers holds up no other request."""

    def __init__(self, dispatcher: RunDispatcher, admission: FairAdmission) -> None:
        self._dispatcher = dispatcher
        self._admission = admission

    def submit(self, run_id: str) -> None:
        with self._admission.stepped_out():
            self._dispatcher.submit(run_id)

    def cancel(self, run_id: str) -> None:
        with self._admission.stepped_out():
            self._dispatcher.cancel(run_id)
