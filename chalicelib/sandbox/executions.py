"""EventBridge's part for Step Functions in the sandbox, and the stop moto does not make.

Every execution whose start moto answered (`started`, from the request observer) is watched
until it ends; then its "Execution Status Change" event goes to the execution-ended Lambda,
once. An execution whose stop moto answered (`stopping`) still waits for its pending task
tokens in moto, where AWS aborts it at once: while it runs, the tokens its run's running
attempts hold are answered with success, which moto turns into ABORTED (a failure would end
it FAILED; moto_fixes.py). The answers are what AWS would have made of the stop; the
handlers answer the same tokens later (the verdicts of the stopped tasks) and find them
closed, as they would on AWS.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.aws.stepfunctions import execution_arn
from chalicelib.cloud.ports import Executions
from chalicelib.domain.states import AttemptState
from chalicelib.sandbox.aws_events import execution_status_change
from chalicelib.store.base import Store

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

log = logging.getLogger("containerops.sandbox")


class ExecutionWatcher:
    def __init__(self, client: SFNClient, store: Store, executions: Executions,
                 execution_ended: Callable[[dict[str, Any]], None], region: str,
                 clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._store = store
        self._executions = executions
        self._execution_ended = execution_ended
        self._region = region
        self._clock = clock
        self._lock = threading.Lock()
        self._watched: dict[str, str] = {}  # execution ARN -> its run id (the execution's name)
        self._stopping: set[str] = set()
        self._answered: set[str] = set()  # tokens answered for a stop

    # --- what the request observer tells ----------------------------------------------
    def started(self, machine_arn: str, name: str) -> None:
        try:
            arn = execution_arn(machine_arn, name)
        except ValueError:
            return
        with self._lock:
            self._watched[arn] = name

    def stopping(self, arn: str) -> None:
        with self._lock:
            if arn in self._watched:
                self._stopping.add(arn)

    # --- questions ----------------------------------------------------------------------
    def running(self, run_id: str | None = None) -> list[str]:
        """Executions (of one run) not yet told ended."""
        with self._lock:
            return [arn for arn, name in self._watched.items() if run_id is None or name == run_id]

    # --- one poll ---------------------------------------------------------------------
    def poll(self) -> bool:
        with self._lock:
            watched = dict(self._watched)
            stopping = set(self._stopping)
        changed = False
        for arn, run_id in watched.items():
            try:
                execution = self._client.describe_execution(executionArn=arn)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ExecutionDoesNotExist":
                    raise
                self._forget(arn)
                continue
            if execution["status"] == "RUNNING":
                if arn in stopping:
                    changed = self.answer_pending(run_id) or changed
                continue
            self._forget(arn)
            self._execution_ended(execution_status_change(execution, self._region, self._clock()))
            changed = True
        return changed

    def stop_all(self, cause: str) -> None:
        """Stop every execution still running (the sandbox closes) and answer its tokens."""
        for arn in self.running():
            try:
                self._client.stop_execution(executionArn=arn, error="Sandbox.Closed", cause=cause)
            except ClientError:
                log.info("execution %s could not be stopped: it has ended", arn)
            self.stopping(arn)
        for _, run_id in self._running_items():
            self.answer_pending(run_id)

    def answer_pending(self, run_id: str) -> bool:
        """Answer, with success, the tokens of the run's attempts still running."""
        answered = False
        for attempt in self._store.list_attempts(run_id):
            token = attempt.task_token
            if attempt.status is not AttemptState.RUNNING or not token or token in self._answered:
                continue
            self._answered.add(token)
            self._executions.succeed(token)
            answered = True
        return answered

    def answer_token(self, token: str) -> None:
        if token and token not in self._answered:
            self._answered.add(token)
            self._executions.succeed(token)

    def _running_items(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._watched.items())

    def _forget(self, arn: str) -> None:
        with self._lock:
            self._watched.pop(arn, None)
            self._stopping.discard(arn)
