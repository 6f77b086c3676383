"""The machine's bound on containers: one pool of slots every container start of this
process takes, whatever run or job it is for (issue 12 design §3).

A worker takes a slot before it starts an attempt's container and gives it back when the
container has ended, so all the runs a process executes, plain jobs and fan-out instances
alike, never run more than `bound` containers at once. The bound is
`CONTAINEROPS_MAX_CONTAINERS`, 4 times the machine's cores when unset. Decisions taken here:
- A container found running after a restart is counted without waiting (`take_now`): it
  runs already, and its timeout must be watched at once; the pool may so be over its bound
  for a while, and starts nothing new until it is under it again.
- A held container (warm start) is started before its job is due and takes its slot only
  when the job releases it: it idles until then, which costs a container but no CPU.
- A worker waiting for a slot gives up when it is stopped (a cancel, fail_fast): what never
  got a slot never starts.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

from chalicelib.errors import InvalidRequest

BOUND_VARIABLE = "CONTAINEROPS_MAX_CONTAINERS"
CONTAINERS_PER_CORE = 4


def machine_bound(environ: Mapping[str, str] | None = None, cores: int | None = None) -> int:
    """The bound from the environment, else 4 times the cores; InvalidRequest for a value that
    is no whole number of 1 or more."""
    text = (os.environ if environ is None else environ).get(BOUND_VARIABLE, "").strip()
    if not text:
        return CONTAINERS_PER_CORE * (cores or os.cpu_count() or 1)
    if not text.isdigit() or int(text) < 1:
        raise InvalidRequest(f"{BOUND_VARIABLE} must be a whole number of 1 or more, not {text!r}")
    return int(text)


class ContainerSlots:
    """A counting semaphore whose waiters can be woken by a stop."""

    def __init__(self, bound: int) -> None:
        if bound < 1:
            raise ValueError(f"a bound of {bound} containers runs nothing")
        self.bound = bound
        self._taken = 0
        self._peak = 0
        self._changed = threading.Condition()

    def take(self, stopped: threading.Event) -> bool:
        """Wait for a free slot and take it: True; False (and nothing taken) once `stopped`
        is set. Whoever sets `stopped` calls `wake()` so the wait ends."""
        with self._changed:
            self._changed.wait_for(lambda: stopped.is_set() or self._taken < self.bound)
            if stopped.is_set():
                return False
            self._count_one()
            return True

    def take_now(self) -> None:
        """Count a container that runs already (found after a restart)."""
        with self._changed:
            self._count_one()

    def give_back(self) -> None:
        with self._changed:
            self._taken -= 1
            self._changed.notify_all()  # a woken waiter may be one that was stopped

    def wake(self) -> None:
        with self._changed:
            self._changed.notify_all()

    @property
    def taken(self) -> int:
        with self._changed:
            return self._taken

    @property
    def peak(self) -> int:
        """The most slots taken at once since the pool was made (what tests check)."""
        with self._changed:
            return self._peak

    def _count_one(self) -> None:
        self._taken += 1
        self._peak = max(self._peak, self._taken)
