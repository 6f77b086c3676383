"""Job timeouts on AWS: a task still running past its job's timeout is stopped.

The timeout counts from the container's start, as on the local driver. Nothing waits in
memory on AWS, so a scheduled sweep looks at the attempts of running runs and stops each
task past its time with the reason the finaliser reads as a timeout (`verdict.
TIMEOUT_STOP_REASON`): its STOPPED event then fails the attempt with reason `timeout`. The
compiled `TimeoutSeconds` of each job state (the timeout plus a launch allowance) is the
backstop if a sweep is missed. The engine's plan says the timeout (`JobPlan.timeout`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from chalicelib.cloud.loaded_run import load_run
from chalicelib.cloud.ports import Tasks
from chalicelib.cloud.verdict import TIMEOUT_STOP_REASON
from chalicelib.domain.catalog import ComponentCatalog
from chalicelib.domain.states import AttemptState, RunState
from chalicelib.engine.rules import Launch
from chalicelib.errors import NotFound
from chalicelib.store.base import RunFilter, Store

SWEEP_PAGE = 100


class TimeoutSweeper:
    def __init__(self, store: Store, tasks: Tasks, catalog: ComponentCatalog,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._tasks = tasks
        self._catalog = catalog
        self._clock = clock

    def sweep(self) -> list[str]:
        """Stop every task past its job's timeout; the ARNs of the tasks stopped."""
        stopped: list[str] = []
        cursor: str | None = None
        while True:
            page = self._store.list_runs(RunFilter(statuses=(RunState.RUNNING,), limit=SWEEP_PAGE,
                                                   cursor=cursor))
            for run in page.runs:
                stopped.extend(self._sweep_run(run.id))
            if page.next_cursor is None:
                return stopped
            cursor = page.next_cursor

    def _sweep_run(self, run_id: str) -> list[str]:
        try:
            loaded = load_run(self._store, run_id)
        except NotFound:
            return []
        now = self._clock()
        stopped = []
        for attempt in self._store.list_attempts(run_id):
            if attempt.status is not AttemptState.RUNNING or not attempt.container_id:
                continue
            if attempt.started_at is None:
                continue
            decision = loaded.decide(attempt.job, self._catalog)
            if isinstance(decision, Launch) and now - attempt.started_at >= decision.plan.timeout:
                self._tasks.stop(attempt.container_id, TIMEOUT_STOP_REASON)
                stopped.append(attempt.container_id)
        return stopped
