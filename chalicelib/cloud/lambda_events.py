"""Each aws-mode Lambda event, from its raw shape to a handler, with the rule for failures.

- A launch batch (SQS) reports partial failures: a message that failed for a reason worth
  trying again (the store or AWS unavailable, anything unexpected) is returned in
  `batchItemFailures`, so SQS delivers it again alone and, after the queue's receive count,
  moves it to the dead-letter queue; a message that cannot be read is dropped with a log
  line (delivering it again would fail again).
- A log batch, a task's stop and an execution's end that cannot be read are dropped with a
  log line; anything else that fails raises, so Lambda's own retries (and the event
  source's) try again: the handlers are idempotent, a second delivery changes nothing.
- So are the trigger events (an S3 object created, a CodeCommit reference changed): one
  that cannot be read is dropped with a log line; the runs they start are claimed per event
  and workflow, so a second delivery or a retry starts no second run. The minute schedule
  check is idempotent too (a tick is marked once).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from chalicelib.cloud.eks_check import EksJobsCheck
from chalicelib.cloud.events import LaunchMessage, execution_ended, task_stopped
from chalicelib.cloud.launcher import JobLauncher
from chalicelib.cloud.log_batches import decode_batch
from chalicelib.cloud.log_handler import LogBatchHandler
from chalicelib.cloud.run_end import RunFinaliser
from chalicelib.cloud.sweep import RunningJobsSweeper
from chalicelib.cloud.trigger_events import object_created, reference_changed
from chalicelib.cloud.verdict import TaskFinaliser
from chalicelib.errors import InvalidRequest
from chalicelib.services.event_triggers import EventTriggers
from chalicelib.services.schedules import ScheduleService

log = logging.getLogger("containerops.cloud")


def launch_batch(launcher: JobLauncher, event: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
    failures: list[dict[str, str]] = []
    for record in event.get("Records") or []:
        message_id = str(record.get("messageId", ""))
        try:
            launcher.launch(LaunchMessage.from_body(str(record.get("body", ""))))
        except InvalidRequest as exc:
            log.error("launch message %s dropped: %s", message_id, exc)
        except Exception:
            log.exception("launch message %s failed; SQS will deliver it again", message_id)
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


def log_batch(handler: LogBatchHandler, event: Mapping[str, Any]) -> None:
    try:
        batch = decode_batch(event)
    except InvalidRequest as exc:
        log.error("log batch dropped: %s", exc)
        return
    handler.handle(batch)


def task_state_change(finaliser: TaskFinaliser, event: Mapping[str, Any]) -> None:
    try:
        stopped = task_stopped(event)
    except InvalidRequest as exc:
        log.error("task state change dropped: %s", exc)
        return
    if stopped is not None:
        finaliser.task_stopped(stopped)


def execution_status_change(finaliser: RunFinaliser, event: Mapping[str, Any]) -> None:
    try:
        ended = execution_ended(event)
    except InvalidRequest as exc:
        log.error("execution status change dropped: %s", exc)
        return
    if ended is not None:
        finaliser.execution_ended(ended)


def sweep(sweeper: RunningJobsSweeper) -> None:
    """The minute schedule: what the sweep did is in its log lines."""
    acted = sweeper.sweep()
    if acted:
        log.info("sweep: %d task(s) stopped past their timeout or judged after a lost stop", len(acted))


def eks_check(check: EksJobsCheck | None) -> None:
    """The minute schedule of the EKS jobs' verdicts (nothing to do without a cluster)."""
    if check is None:
        return
    judged = check.check()
    if judged:
        log.info("eks check: %d Kubernetes Job(s) judged and removed", len(judged))


def s3_object_created(triggers: EventTriggers, event: Mapping[str, Any]) -> None:
    try:
        created = object_created(event)
    except InvalidRequest as exc:
        log.error("S3 event %s dropped: %s", event.get("id"), exc)
        return
    started = triggers.object_created(created)
    log.info("s3://%s/%s (event %s): %d run(s) started", created.bucket, created.key,
             created.event_id, len(started))


def codecommit_reference_changed(triggers: EventTriggers, event: Mapping[str, Any]) -> None:
    try:
        changed = reference_changed(event)
    except InvalidRequest as exc:
        log.error("CodeCommit event %s dropped: %s", event.get("id"), exc)
        return
    started = triggers.reference_changed(changed)
    log.info("%s %s of %s %s (event %s): %d run(s) started", changed.reference_type, changed.name,
             changed.repository, changed.event, changed.event_id, len(started))


def scheduled_runs(schedules: ScheduleService) -> None:
    """The minute schedule: the runs the workflows' cron triggers owe now."""
    started = schedules.check()
    if started:
        log.info("schedules: %d run(s) started", started)
