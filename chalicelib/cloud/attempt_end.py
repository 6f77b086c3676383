"""An attempt's end, written once and told to its state machine once.

Both the launcher (a task that could not start) and the finaliser (a task that stopped)
end attempts the same way: the attempt's final state is written conditionally on its still
running (a duplicate event finds it ended and changes nothing), the engine says whether the
job ends with it or the state machine retries it (`after_attempt`, the same rule the
compiled `Retry` follows), and the attempt's callback token is answered: success, or
`Job.Failed` with the reason. The engine's notes on the attempt (why it could not start, a
timeout, a workspace not saved) go into its log after its own lines, as `[containerops] …`
lines as locally; a note that cannot be written is logged and changes no verdict.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

from chalicelib.cloud.ports import JOB_FAILED, Executions
from chalicelib.domain.states import AttemptState, JobState
from chalicelib.engine.engine import AttemptEnd, JobPlan
from chalicelib.engine.ingest import NOTE_PREFIX
from chalicelib.engine.records import AttemptRecord
from chalicelib.engine.rules import AttemptOutcome, JobEnd, after_attempt
from chalicelib.errors import ContainerOpsError, StaleWrite
from chalicelib.logs.base import LogEntry, LogSink
from chalicelib.store.base import Store

log = logging.getLogger("containerops.cloud")


class AttemptEnder:
    def __init__(self, store: Store, executions: Executions, notes: LogSink,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._executions = executions
        self._notes = notes
        self._clock = clock

    def end(self, plan: JobPlan, attempt: AttemptRecord, end: AttemptEnd,
            outcome: AttemptOutcome, *, stop_reason: str | None) -> bool:
        """Record the attempt's end and answer its token; False when it had ended already."""
        final = replace(attempt, status=outcome.status, reason=outcome.reason,
                        exit_code=end.exit_code, finished_at=attempt.finished_at or self._clock())
        try:
            self._store.save_attempt(final, expected=AttemptState.RUNNING)
        except StaleWrite:
            return False
        self._write_notes(final, outcome.notes)
        self._record_on_job(plan, final, stop_reason=stop_reason)
        if final.status is AttemptState.SUCCEEDED:
            self._executions.succeed(final.task_token)
        else:
            self._executions.fail(final.task_token, JOB_FAILED, final.reason)
        return True

    def _write_notes(self, attempt: AttemptRecord, notes: tuple[str, ...]) -> None:
        if not notes:
            return
        now = self._clock()
        try:
            self._notes.append_logs(attempt.run_id, attempt.job, attempt.number,
                                    [LogEntry(now, NOTE_PREFIX + note) for note in notes])
        except ContainerOpsError:
            log.warning("the notes of attempt %d of job %s of run %s could not be written: %s",
                        attempt.number, attempt.job, attempt.run_id, notes, exc_info=True)

    def _record_on_job(self, plan: JobPlan, attempt: AttemptRecord, *,
                       stop_reason: str | None) -> None:
        job = self._store.get_job(attempt.run_id, attempt.job)
        if job.status is not JobState.RUNNING:
            # Ended by the run's end (stopped with the run) before this verdict: its state and
            # reason stand, but like the local driver it keeps its last attempt's exit code.
            if job.status.is_final and job.exit_code is None and attempt.exit_code is not None:
                try:
                    self._store.save_job(replace(job, exit_code=attempt.exit_code,
                                                 attempts=max(job.attempts, attempt.number)),
                                         expected=job.status)
                except StaleWrite:
                    pass
            return
        step = after_attempt(plan, attempt, stop_reason=stop_reason)
        changed = replace(job, attempts=max(job.attempts, attempt.number), exit_code=attempt.exit_code)
        if isinstance(step, JobEnd):
            changed = replace(changed, status=step.state, reason=step.reason,
                              outputs=dict(step.outputs), finished_at=self._clock())
        try:
            self._store.save_job(changed, expected=JobState.RUNNING)
        except StaleWrite:
            pass  # the run's end moved it first
