"""Each aws-mode Lambda event, from its raw shape to a handler, with the rule for failures.

- A launch batch (SQS) reports partial failures: a message that failed for a reason worth
  trying again (the store or AWS unavailable, anything unexpected) is returned in
  `batchItemFailures`, so SQS delivers it again alone and, after the queue's receive count,
  moves it to the dead-letter queue; a message that cannot be read is dropped with a log
  line (delivering it again would fail again).
- A log batch, a task's stop and an execution's end that cannot be read are dropped with a
  log line; anything else that fails raises, so Lambda's own retries (and the event
  source's) try again: the handlers are idempotent, a second delivery changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from chalicelib.cloud.events import LaunchMessage, execution_ended, task_stopped
from chalicelib.cloud.launcher import JobLauncher
from chalicelib.cloud.log_batches import decode_batch
from chalicelib.cloud.log_handler import LogBatchHandler
from chalicelib.cloud.run_end import RunFinaliser
from chalicelib.cloud.sweep import RunningJobsSweeper
from chalicelib.cloud.verdict import TaskFinaliser
from chalicelib.errors import InvalidRequest

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
