"""Reading and stopping a fan-out job's instance records on the cloud path: every recorded
instance in some states (page after page, never more than a page a read), and the running
ones ended `cancelled` with their tasks stopped.

Stopping writes the instance's end first (conditionally on its still running), then stops
its running attempts' tasks with ContainerOps's stop prefix, so their verdicts, arriving
later, find the instance ended and change only the attempt (and its exit code), as the run's
end does for the jobs it stops. Both the group's end (fail_fast, or a Map that ended with
instances still running) and the run's end (a cancel, another job's failure) stop instances
this way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from chalicelib.cloud.ports import Tasks
from chalicelib.cloud.verdict import RUN_STOP_PREFIX
from chalicelib.domain.states import AttemptState, JobState
from chalicelib.errors import StaleWrite
from chalicelib.store.base import Store


def stop_running_instances(store: Store, tasks: Tasks, run_id: str, job: str, reason: str,
                           clock: Callable[[], float] = time.time) -> int:
    """End every running instance of `job` cancelled for `reason` and stop its tasks; how
    many this call ended (one a verdict ended meanwhile keeps its verdict)."""
    running = list(store.every_instance(run_id, job, (JobState.RUNNING,)))  # read before writing
    ended = 0
    for record in running:
        try:
            store.save_job(replace(record, status=JobState.CANCELLED, reason=reason,
                                   finished_at=clock()), expected=JobState.RUNNING)
            ended += 1
        except StaleWrite:
            continue  # its verdict ended it first
        for attempt in store.list_attempts(run_id, record.name):
            if attempt.status is AttemptState.RUNNING and attempt.container_id:
                tasks.stop(attempt.container_id, RUN_STOP_PREFIX + reason)
    return ended
