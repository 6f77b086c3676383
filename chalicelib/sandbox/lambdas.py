"""The aws-mode Lambda functions as the sandbox invokes them: the same functions app.py's
handlers call (`cloud.lambda_events`), on the services the sandbox built, with Lambda's rules
for failures.

- The launcher is invoked synchronously by the SQS event source: what it raises fails the
  whole batch (SQS delivers every message of it again), and its `batchItemFailures` name the
  messages to deliver again; the caller (pump.py) deletes the others.
- The log, task-stopped and execution-ended functions and the minute schedules (the sweep,
  the schedule triggers) are invoked asynchronously (by CloudWatch Logs and EventBridge):
  Lambda tries a failed invocation twice more, then the event is gone (to an on-failure
  destination, which the template may add). The sandbox tries at once rather than after
  Lambda's minutes, and says so in the log every time.

Every failure is logged with its traceback and kept in `failures`, so a test can tell a run
that ended well from one whose handlers kept failing on the way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.aws.bootstrap import AwsServices
from chalicelib.cloud import lambda_events

log = logging.getLogger("containerops.sandbox")

ASYNC_TRIES = 3  # Lambda's asynchronous invocation: the first try and two retries
RETRY_PAUSE_SECONDS = 0.1


class LambdaFunctions:
    def __init__(self, services: AwsServices, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._services = services
        self._sleep = sleep
        self._lock = threading.Lock()
        self._failures: list[str] = []
        self.closed = False  # set while the sandbox closes: events are then dropped

    @property
    def failures(self) -> list[str]:
        """One line per failed invocation: the function and the error."""
        with self._lock:
            return list(self._failures)

    def launch_jobs(self, event: Mapping[str, Any]) -> set[str]:
        """The message ids to deliver again; raises when the whole batch failed."""
        try:
            answer = lambda_events.launch_batch(self._services.launcher, event)
        except Exception as exc:
            self._failed("launch_jobs", exc)
            raise
        failed = {item["itemIdentifier"] for item in answer["batchItemFailures"]}
        if failed:
            self._note(f"launch_jobs: {len(failed)} message(s) reported for another delivery")
        return failed

    def ingest_logs(self, event: Mapping[str, Any]) -> None:
        self._invoke("ingest_logs", lambda: lambda_events.log_batch(self._services.log_batches, event))

    def task_stopped(self, event: Mapping[str, Any]) -> None:
        self._invoke("task_stopped", lambda: lambda_events.task_state_change(
            self._services.task_finaliser, event))

    def sweep_running_jobs(self) -> None:
        self._invoke("sweep_running_jobs", lambda: lambda_events.sweep(self._services.sweeper))

    def check_eks_jobs(self) -> None:
        self._invoke("check_eks_jobs", lambda: lambda_events.eks_check(self._services.eks_check))

    def start_scheduled_runs(self) -> None:
        self._invoke("start_scheduled_runs",
                     lambda: lambda_events.scheduled_runs(self._services.schedules))

    def execution_ended(self, event: Mapping[str, Any]) -> None:
        self._invoke("execution_ended", lambda: lambda_events.execution_status_change(
            self._services.run_finaliser, event))

    def _invoke(self, name: str, call: Callable[[], None]) -> None:
        for attempt in range(1, ASYNC_TRIES + 1):
            if self.closed:
                log.info("%s: the sandbox is closing, event dropped", name)
                return
            try:
                call()
                return
            except Exception as exc:
                self._failed(name, exc)
                if attempt == ASYNC_TRIES:
                    log.error("%s failed %d times: the event is dropped, as Lambda would drop it",
                              name, ASYNC_TRIES)
                    return
                self._sleep(RETRY_PAUSE_SECONDS * attempt)

    def _failed(self, name: str, exc: Exception) -> None:
        log.exception("function %s failed", name, exc_info=exc)
        self._note(f"{name}: {type(exc).__name__}: {exc}")

    def _note(self, line: str) -> None:
        with self._lock:
            self._failures.append(line)
