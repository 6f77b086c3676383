"""The finaliser: a job task that stopped becomes its attempt's verdict.

A verdict needs the exit code, so it waits for ECS's STOPPED event. Before judging, the
whole log stream of the attempt is read again and run through the engine's ingest policy
from the start: live batches may have arrived late, twice, or not yet, and the stream is the
one complete record, so the outputs, the reported result and any broken limit are exactly
what the local driver would have read from the same output. Then the engine judges
(`attempt_outcome`: exit code, `CO_RESULT`, limits, out of memory, timeout, a stop) and
`AttemptEnder` writes the attempt and the job once and answers the token once.

The task names its attempt in its ECS group (`events.task_group`), so a STOPPED event that
overtakes the launcher's own record of the task still finds its attempt.

A fan-out instance's attempt is kept under its key (`test.3`): the engine plans it as that
instance (`LoadedRun.decide` reads the key) and the verdict writes the instance's record,
never the group's, which only the group's end writes. An instance aborted with a failed Map
answers a closed token (InvalidToken), which is ignored like any other.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from enum import StrEnum
from itertools import islice

from chalicelib.cloud.attempt_end import AttemptEnder
from chalicelib.cloud.events import (
    RESTORE_CONTAINER,
    SAVE_CONTAINER,
    TASK_STREAM_PREFIX,
    TaskStopped,
    eks_stream,
    is_eks_ref,
)
from chalicelib.cloud.loaded_run import load_run
from chalicelib.cloud.ports import Executions
from chalicelib.cloud.run_secrets import RunSecrets
from chalicelib.domain.catalog import ComponentCatalog
from chalicelib.domain.states import AttemptState
from chalicelib.engine.engine import AttemptEnd
from chalicelib.engine.ingest import DEFAULT_MAX_STORED_BYTES, IngestPolicy, LogIngest
from chalicelib.engine.records import AttemptRecord
from chalicelib.engine.rules import Launch, attempt_outcome, stop_reason_of, stop_reason_of_run
from chalicelib.errors import NotFound
from chalicelib.logs.base import LogSink
from chalicelib.store.base import Store

log = logging.getLogger("containerops.cloud")

# The reason ContainerOps gives ECS when it stops a task past its job's timeout, and the
# prefix of the reasons it gives when it stops one because the run stops.
TIMEOUT_STOP_REASON = "containerops: timeout"
RUN_STOP_PREFIX = "containerops: "
FAILED_TO_START = "TaskFailedToStart"  # ECS's stop code of a task that never ran (EKS tells it so too)
CANNOT_START_CODES = (FAILED_TO_START,)
READ_CHUNK = 10_000  # events read at once: the whole stream is read, a 64 MiB one too

Messages = Callable[[str, str, int], Iterable[str]]  # run, job, attempt -> raw log messages


class Verdict(StrEnum):
    JUDGED = "judged"
    DUPLICATE = "duplicate"  # the attempt had ended already
    UNKNOWN = "unknown"  # no attempt of ours


class TaskFinaliser:
    def __init__(self, store: Store, executions: Executions, catalog: ComponentCatalog,
                 messages: Messages, secrets: RunSecrets, notes: LogSink, *,
                 max_stored_bytes: int = DEFAULT_MAX_STORED_BYTES,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._catalog = catalog
        self._messages = messages
        self._secrets = secrets
        self._max_stored = max_stored_bytes
        self._ender = AttemptEnder(store, executions, notes, clock)

    def task_stopped(self, stopped: TaskStopped) -> Verdict:
        attempt = self._attempt_of(stopped)
        if attempt is None:
            log.warning("stopped task %s is no attempt of ours: ignored", stopped.task_arn)
            return Verdict.UNKNOWN
        if attempt.status is not AttemptState.RUNNING:
            return Verdict.DUPLICATE
        loaded = load_run(self._store, attempt.run_id)
        decision = loaded.decide(attempt.job, self._catalog)
        if not isinstance(decision, Launch):  # cannot happen for a launched job: the records are the same
            log.error("job %s of run %s no longer plans: %r", attempt.job, attempt.run_id, decision)
            return Verdict.UNKNOWN
        plan = decision.plan
        policy = IngestPolicy(self._secrets.values(attempt.run_id), self._max_stored)
        ingest = LogIngest(policy)
        messages = iter(self._messages(attempt.run_id, attempt.job, attempt.number))
        while chunk := list(islice(messages, READ_CHUNK)):
            ingest.read_events(chunk)  # as accept(cut_line(m)) for each, in bulk
        end = attempt_end(stopped, run_cancelled=loaded.run.cancel_requested)
        outcome = attempt_outcome(plan, end, ingest)
        started_at = attempt.started_at or stopped.started_at
        finished_at = stopped.stopped_at
        if started_at is not None and finished_at is not None:
            finished_at = max(finished_at, started_at)  # Kubernetes keeps whole seconds
        read = replace(attempt, container_id=attempt.container_id or stopped.task_arn,
                       started_at=started_at, finished_at=finished_at)
        ingest.state.save_into(read)
        if not self._ender.end(plan, read, end, outcome, stop_reason=stop_reason_of_run(loaded.run)):
            return Verdict.DUPLICATE
        return Verdict.JUDGED

    def _attempt_of(self, stopped: TaskStopped) -> AttemptRecord | None:
        key = stopped.attempt_key
        if key is not None:
            try:
                return self._store.get_attempt(*key)
            except NotFound:
                return None
        return self._store.find_attempt_by_container(stopped.task_arn)


def attempt_end(stopped: TaskStopped, *, run_cancelled: bool) -> AttemptEnd:
    """How the attempt's container ended, in the engine's terms."""
    stopped_by_us = stopped.stopped_reason.startswith(RUN_STOP_PREFIX) or run_cancelled
    never_ran = stopped.exit_code is None and not stopped_by_us
    if never_ran and stopped.restore_exit_code not in (None, 0):
        return AttemptEnd(None, launch_error=(
            "the run's workspace could not be restored before the job"
            f" ({RESTORE_CONTAINER} exited with code {stopped.restore_exit_code}; its log is"
            f" stream {sidecar_stream(stopped, RESTORE_CONTAINER)})"))
    if stopped.stop_code in CANNOT_START_CODES or never_ran:
        reason = stopped.container_reason or stopped.stopped_reason or "the task did not start"
        return AttemptEnd(None, launch_error=f"the task could not start: {reason}")
    if stopped.stopped_reason == TIMEOUT_STOP_REASON:
        return AttemptEnd(stopped.exit_code, timed_out=True, waiting_reason=stopped.waiting_reason)
    if stopped_by_us:
        own = stopped.stopped_reason.removeprefix(RUN_STOP_PREFIX) if stopped.stopped_reason.startswith(
            RUN_STOP_PREFIX) else ""
        why = stop_reason_of(own, run_cancelled=True)
        return AttemptEnd(stopped.exit_code, cancelled=True, stop_reason=why)
    return AttemptEnd(stopped.exit_code, oom_killed=stopped.oom_killed,
                      workspace_error=_save_error(stopped))


def _save_error(stopped: TaskStopped) -> str:
    """Why what the job wrote did not reach the run's workspace, if it did not: the save
    sidecar failed, or never ran though the job did (a task that has the sidecar)."""
    if stopped.save_exit_code == 0 or (stopped.save_exit_code is None and stopped.restore_exit_code is None):
        return ""
    how = (f"exited with code {stopped.save_exit_code}" if stopped.save_exit_code is not None
           else "did not run")
    return (f"the job's changes to the run's workspace were not saved ({SAVE_CONTAINER} {how};"
            f" its log is stream {sidecar_stream(stopped, SAVE_CONTAINER)})")


def sidecar_stream(stopped: TaskStopped, container: str) -> str:
    """The log stream of one of the workspace sidecars of the stopped task (or EKS Job)."""
    key = stopped.attempt_key
    if is_eks_ref(stopped.task_arn) and key is not None:
        return eks_stream(container, *key)
    return f"{TASK_STREAM_PREFIX}/{container}/{stopped.task_arn.rsplit('/', 1)[-1]}"
