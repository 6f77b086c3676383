"""Corrections that make moto 5.2.5 behave as AWS does where the sandbox and the tests on moto
depend on it, each one measured (../shared/AWS-TESTING.md), each one a context manager that
undoes itself.

- `one_request_at_a_time`: moto applies a request (a conditional write, a transaction, a
  state machine's step) in several Python steps without a lock (a failed DynamoDB
  transaction even restores a copy of the whole table, wiping what other threads wrote
  meanwhile), where AWS applies each request atomically. Its handling of requests is
  therefore serialised; an observer may also see each request moto answered, which is how
  the sandbox notices the calls AWS would react to (a stop of an execution, a new message).
- `fresh_token_per_attempt`: moto makes a callback Task's token once per state, not per
  attempt, and keeps the first answer on it, so a retried attempt would read its
  predecessor's failure at once; each retried attempt gets a token of its own, as in AWS.
- `manual_task_transitions`: moto's `describe_tasks` moves a task one status further on
  every call (RUNNING, DEACTIVATING, ... STOPPED); tasks stay where they are until stopped.
- `paged_log_reads`: moto's `get_log_events` filters and sorts the whole stream for every
  page, so reading a stream page by page takes time in the square of its length (a 64 MiB
  log read back by a verdict: 11 s, where the rest of its run took 20). For a stream whose
  events are in time order (the sandbox writes them so, as CloudWatch keeps them) a page is
  now a slice, with moto's own tokens; any other read is moto's.

moto has one more difference the sandbox has to work around rather than patch:
`stop_execution` has no effect while a task token is pending (AWS aborts at once). Measured:
answering every pending token of a stopped execution with *success* ends it ABORTED, as AWS
would have; answering one with failure ends it FAILED. The pump does the former (pump.py).

This module imports moto: import it only where moto is meant to be installed (tests, the
sandbox once `environment.require_moto` has passed).
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.core.models import botocore_stubber
from moto.logs.models import LogStream
from moto.moto_api import state_manager
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback as callback,
)

# The operation a request names (e.g. "StopExecution") and its JSON parameters.
RequestObserver = Callable[[str, Mapping[str, Any]], None]

StateTaskServiceCallback = callback.StateTaskServiceCallback
ECS_TASK_MODEL = "ecs::task"


@contextmanager
def one_request_at_a_time(observer: RequestObserver | None = None) -> Iterator[None]:
    """Serialise moto's handling of requests (from any thread, moto's own included); after each
    request moto answered with success, `observer(operation, parameters)` is called, outside
    the lock, for requests of the JSON protocols (Step Functions, SQS, ECS, ...)."""
    lock = threading.RLock()
    handle = botocore_stubber.process_request
    was_patched = "process_request" in vars(botocore_stubber)

    def serialised(request: Any) -> Any:
        with lock:
            response = handle(request)
        if observer is not None and response is not None and response[0] < 300:
            operation, parameters = _operation(request)
            if operation:
                observer(operation, parameters)
        return response

    botocore_stubber.process_request = serialised  # type: ignore[method-assign]
    try:
        yield
    finally:
        if was_patched:
            botocore_stubber.process_request = handle  # type: ignore[method-assign]
        else:
            del botocore_stubber.process_request


def _operation(request: Any) -> tuple[str, Mapping[str, Any]]:
    """("StartExecution", {...}) from the X-Amz-Target header and the JSON body; ("", {})
    for a request of another protocol or a body that is not a JSON object."""
    target = request.headers.get("X-Amz-Target") or b""
    if isinstance(target, bytes):
        target = target.decode("ascii", "replace")
    operation = str(target).rpartition(".")[2]
    if not operation:
        return "", {}
    body = request.body or b"{}"
    try:
        parameters = json.loads(body)
    except (ValueError, TypeError):
        return operation, {}
    return operation, parameters if isinstance(parameters, dict) else {}


@contextmanager
def fresh_token_per_attempt() -> Iterator[None]:
    """A new task token for every retried attempt of a callback Task, as Step Functions gives."""
    original = StateTaskServiceCallback._evaluate_with_timeout

    def evaluate_attempt(self: StateTaskServiceCallback, env: Any) -> None:
        context = env.states.context_object.context_object_data
        if "Task" in context and context.get("State", {}).get("RetryCount", 0) > 0:
            env.callback_pool_manager.add(env.states.context_object.update_task_token())
        original(self, env)

    with mock.patch.object(StateTaskServiceCallback, "_evaluate_with_timeout", evaluate_attempt):
        yield


@contextmanager
def manual_task_transitions() -> Iterator[None]:
    """ECS tasks keep their status when described (they move only when stopped)."""
    state_manager.set_transition(model_name=ECS_TASK_MODEL,
                                 transition={"progression": "manual", "times": sys.maxsize})
    try:
        yield
    finally:
        state_manager.unset_transition(ECS_TASK_MODEL)


@contextmanager
def paged_log_reads() -> Iterator[None]:
    """Pages of a stream in time order cost the page, not the stream (moto's tokens kept)."""
    original = LogStream.get_log_events
    ordered_up_to: dict[int, tuple[int, bool]] = {}  # id(stream) -> (events checked, in order)

    def in_time_order(stream: LogStream) -> bool:
        events = stream.events
        checked, ordered = ordered_up_to.get(id(stream), (0, True))
        for n in range(max(checked, 1), len(events)) if ordered else ():
            if events[n].timestamp < events[n - 1].timestamp:
                ordered = False
                break
        ordered_up_to[id(stream)] = (len(events), ordered)
        return ordered

    def get_log_events(self: LogStream, start_time: Any, end_time: Any, limit: Any,
                       next_token: str | None, start_from_head: Any) -> Any:
        if start_time or end_time or not in_time_order(self):
            return original(self, start_time, end_time, limit, next_token, start_from_head)
        return _page(self.events, limit or 10000, next_token, bool(start_from_head)) or original(
            self, start_time, end_time, limit, next_token, start_from_head)

    with mock.patch.object(LogStream, "get_log_events", get_log_events):
        yield


def _page(events: list[Any], limit: int, next_token: str | None, from_head: bool) -> Any:
    """moto's paging (its `b/` and `f/` tokens, 56 digits) over events already in order; None
    for a token it would refuse, so that moto refuses it itself."""
    last = len(events) - 1
    if next_token is None:
        start = 0 if from_head else last - (limit - 1)
        end = start + limit - 1 if from_head else last
    else:
        direction, _, digits = next_token.partition("/")
        if direction not in ("f", "b") or not digits.isdigit():
            return None
        index = int(digits)
        start, end = ((index + 1, index + limit) if direction == "f"
                      else (index - limit, index - 1))
    if start < 0:
        start = 0
    elif start > last:
        return [], f"b/{last:056d}", f"f/{last:056d}"
    if end > last:
        end = last
    elif end < 0:
        return [], f"b/{0:056d}", f"f/{0:056d}"
    page = [event.to_response_dict() for event in events[start:end + 1]]
    return page, f"b/{start:056d}", f"f/{end:056d}"
