"""The schedule trigger loop of `containerops serve`: starts the runs cron triggers owe.

Every `interval` it looks at each workflow's `schedule` triggers and starts at most one run
per trigger: the latest tick since the last one acted on (ticks missed while the server was
down give one run, not many; see `domain.schedule`). The tick is marked in the store
*before* the run is started: a crash in between loses that one run rather than starting it
twice. One server per data directory is assumed: two would both start the runs they owe.
Ticks of a disabled workflow are marked without a run, so enabling it again does not start
a run for a tick that passed while it was off.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.models import ScheduleTrigger
from chalicelib.domain.schedule import due_tick
from chalicelib.errors import ContainerOpsError
from chalicelib.store.base import Store, StoredWorkflow

log = logging.getLogger("containerops.schedules")

DEFAULT_INTERVAL_SECONDS = 15.0

# (namespace, name, params, trigger) -> the run started; RunService.start fits.
RunStarter = Callable[[str, str, Mapping[str, str], Mapping[str, Any]], object]


class ScheduleLoop:
    def __init__(
        self,
        store: Store,
        run_starter: RunStarter,
        clock: Callable[[], float],
        interval: float = DEFAULT_INTERVAL_SECONDS,
    ) -> None:
        self._store = store
        self._start_run = run_starter
        self._clock = clock
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
        now = self._clock()
        started = 0
        for stored in self._store.list_workflows():
            for index, trigger in enumerate(stored.workflow.spec.triggers):
                if isinstance(trigger, ScheduleTrigger) and not self._stopping.is_set():
                    started += self._check(stored, index, trigger.cron, now)
        return started

    def _check(self, stored: StoredWorkflow, index: int, cron: str, now: float) -> int:
        namespace, name = stored.workflow.metadata.namespace, stored.workflow.metadata.name
        try:
            mark = self._store.get_schedule_mark(namespace, name, index)
            tick = due_tick(cron, mark, now, stored.created_at)
            if tick is None:
                return 0
            enabled = self._store.get_workflow_settings(namespace, name).enabled
            self._store.set_schedule_mark(namespace, name, index, tick)
            if not enabled:
                return 0
            moment = datetime.fromtimestamp(tick, UTC).isoformat()
            self._start_run(namespace, name, {}, {"type": "schedule", "cron": cron, "tick": moment})
        except ContainerOpsError as exc:  # e.g. a required param without a default
            log.warning("schedule '%s' of %s/%s started no run: %s", cron, namespace, name, exc)
            return 0
        log.info("schedule '%s' of %s/%s started a run for %s", cron, namespace, name, moment)
        return 1
