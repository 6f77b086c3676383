"""Schedule triggers: the runs cron triggers owe now, one check at a time, for every host.

`containerops serve` calls `ScheduleService.check` every few seconds (chalicelib/local/
schedules.py) and aws mode once a minute (the `start_scheduled_runs` function): the same
decisions in both places. A check looks at every workflow with a `schedule` trigger (the
store's trigger index, not a scan of every workflow) and starts at most one run per trigger:
for the latest tick since the last one acted on, so ticks missed while nothing was checking
give one run, not many (`domain.schedule.due_tick`). The tick is marked in the store *before*
the run is started, by a conditional write from the mark the checker read: of two checks of
the same tick (a schedule event delivered twice, two Lambda invocations at once, two
servers on one data directory) exactly one moves the mark and starts the run; a crash
between the mark and the start loses that one run rather than starting it twice. Ticks of
a disabled workflow are marked without a run, so enabling it again does not start a run
for a tick that passed while it was off. A run that cannot start (a required param with
no default) is logged and its tick stays marked: the next tick tries again. A mark is kept
under the trigger's identity (`domain.triggers.schedule_key`), not its position, so a new
version that reorders the triggers carries every mark over.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.schedule import due_tick
from chalicelib.domain.triggers import TriggerKind, schedules_of
from chalicelib.services.run_refusals import CANNOT_START, why_not
from chalicelib.store.base import Store, TriggeredWorkflow

log = logging.getLogger("containerops.schedules")

# (namespace, name, params, trigger) -> the run started; RunService.start fits.
RunStarter = Callable[[str, str, Mapping[str, str], Mapping[str, Any]], object]


class ScheduleService:
    def __init__(self, store: Store, run_starter: RunStarter, clock: Callable[[], float]) -> None:
        self._store = store
        self._start_run = run_starter
        self._clock = clock

    def check(self, stopping: Callable[[], bool] = lambda: False) -> int:
        """Start every run a schedule owes now; how many were started. `stopping` is asked
        before each trigger, so a server that is shutting down starts nothing more."""
        now = self._clock()
        started = 0
        for found in self._store.workflows_triggered_by(TriggerKind.SCHEDULE):
            for key, trigger in schedules_of(found.stored.workflow).items():
                if not stopping():
                    started += self._check(found, key, trigger.cron, now)
        return started

    def _check(self, found: TriggeredWorkflow, key: str, cron: str, now: float) -> int:
        metadata = found.stored.workflow.metadata
        namespace, name = metadata.namespace, metadata.name
        mark = self._store.get_schedule_mark(namespace, name, key)
        tick = due_tick(cron, mark, now, found.stored.created_at)
        if tick is None:
            return 0
        moment = datetime.fromtimestamp(tick, UTC).isoformat()
        if not self._store.advance_schedule_mark(namespace, name, key, mark, tick):
            log.info("schedule '%s' of %s/%s: the tick of %s was taken by another check",
                     cron, namespace, name, moment)
            return 0
        if not found.enabled:
            return 0
        try:
            self._start_run(namespace, name, {}, {"type": "schedule", "cron": cron, "tick": moment})
        except CANNOT_START as exc:
            log.warning("schedule '%s' of %s/%s started no run: %s", cron, namespace, name, why_not(exc))
            return 0
        log.info("schedule '%s' of %s/%s started a run for %s", cron, namespace, name, moment)
        return 1
