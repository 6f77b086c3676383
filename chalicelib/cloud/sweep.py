"""The minute sweep of running runs on AWS: tasks past their job's timeout are stopped, a
task whose STOPPED event was lost is judged all the same, and so is a run whose execution's
end event was lost.

Nothing waits in memory on AWS. The timeout counts from the container's start, as on the
local driver: a task past its time is stopped with the reason the finaliser reads as a
timeout (`verdict.TIMEOUT_STOP_REASON`), and its STOPPED event then fails the attempt with
reason `timeout` (the compiled `TimeoutSeconds` of each job state is the backstop if sweeps
are missed). An event can also be lost (EventBridge gives up after Lambda's retries): a
task ECS says stopped a while ago whose attempt still runs is handed to the finaliser as its
event would have been, so its job ends with its real verdict, not the backstop's. Likewise a
running run whose execution Step Functions says ended a while ago is ended by the run's
finaliser as its event would have ended it (one DescribeExecution per running run and
minute): otherwise it would stay `running`, holding its workflow's slot, for ever.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from chalicelib.cloud.loaded_run import LoadedRun, load_run
from chalicelib.cloud.ports import Executions, Tasks
from chalicelib.cloud.run_end import RunFinaliser
from chalicelib.cloud.verdict import TIMEOUT_STOP_REASON, TaskFinaliser
from chalicelib.domain.catalog import ComponentCatalog
from chalicelib.domain.states import AttemptState, RunState
from chalicelib.engine.records import AttemptRecord
from chalicelib.engine.rules import Launch
from chalicelib.errors import NotFound
from chalicelib.store.base import RunFilter, Store

SWEEP_PAGE = 100
LOST_EVENT_AFTER = 120.0  # seconds after a task stopped: its own event has had its chance


class RunningJobsSweeper:
    def __init__(self, store: Store, tasks: Tasks, executions: Executions, catalog: ComponentCatalog,
                 finaliser: TaskFinaliser, run_finaliser: RunFinaliser,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._tasks = tasks
        self._executions = executions
        self._catalog = catalog
        self._finaliser = finaliser
        self._run_finaliser = run_finaliser
        self._clock = clock

    def sweep(self) -> list[str]:
        """Stop the tasks past their timeout, judge those whose stop went unheard and end the
        runs whose execution's end went unheard; the ARNs of the tasks and the ids of the runs
        acted on."""
        acted: list[str] = []
        cursor: str | None = None
        while True:
            page = self._store.list_runs(RunFilter(statuses=(RunState.RUNNING,), limit=SWEEP_PAGE,
                                                   cursor=cursor))
            for run in page.runs:
                acted.extend(self._sweep_run(run.id))
            if page.next_cursor is None:
                return acted
            cursor = page.next_cursor

    def _sweep_run(self, run_id: str) -> list[str]:
        try:
            loaded = load_run(self._store, run_id)
        except NotFound:
            return []
        if self._end_if_ended_unheard(loaded):
            return [run_id]
        acted = []
        for attempt in self._store.list_attempts(run_id):
            if attempt.status is not AttemptState.RUNNING or not attempt.container_id:
                continue
            if self._judge_if_stopped_unheard(attempt.container_id):
                acted.append(attempt.container_id)
                continue
            decision = loaded.decide(attempt.job, self._catalog)
            if isinstance(decision, Launch) and self._past(attempt, decision.plan.timeout):
                self._tasks.stop(attempt.container_id, TIMEOUT_STOP_REASON)
                acted.append(attempt.container_id)
        return acted

    def _end_if_ended_unheard(self, loaded: LoadedRun) -> bool:
        run = loaded.run
        ended = self._executions.end_of(
            self._executions.machine_arn(loaded.workflow, run.workflow_version), run.id)
        if ended is None or ended.stopped_at is None:
            return False
        if self._clock() - ended.stopped_at < LOST_EVENT_AFTER:
            return False
        self._run_finaliser.execution_ended(ended)
        return True

    def _judge_if_stopped_unheard(self, task_arn: str) -> bool:
        stopped = self._tasks.end_of(task_arn)
        if stopped is None or stopped.stopped_at is None:
            return False
        if self._clock() - stopped.stopped_at < LOST_EVENT_AFTER:
            return False
        self._finaliser.task_stopped(stopped)
        return True

    def _past(self, attempt: AttemptRecord, timeout: float) -> bool:
        return attempt.started_at is not None and self._clock() - attempt.started_at >= timeout
