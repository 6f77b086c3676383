"""A test-only correction of moto 5.2.5's callback Tasks: a fresh task token for every attempt.

moto generates a callback Task's token once per state, not per attempt, and keeps the
first answer on it: after `send_task_failure`, the retried attempt sends its launch
message with the same token and then reads that old failure at once, without waiting
(see test_on_moto.py, which pins this down so that a moto upgrade that fixes it is
noticed). In Step Functions each attempt waits for an answer to its own token. While
`fresh_token_per_attempt()` is active, moto gives every retried attempt a new token as
well, so a retried job can be answered like any other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback as callback,
)

StateTaskServiceCallback = callback.StateTaskServiceCallback


@contextmanager
def fresh_token_per_attempt() -> Iterator[None]:
    original = StateTaskServiceCallback._evaluate_with_timeout

    def evaluate_attempt(self: StateTaskServiceCallback, env: Any) -> None:
        context = env.states.context_object.context_object_data
        if "Task" in context and context.get("State", {}).get("RetryCount", 0) > 0:
            env.callback_pool_manager.add(env.states.context_object.update_task_token())
        original(self, env)

    with mock.patch.object(StateTaskServiceCallback, "_evaluate_with_timeout", evaluate_attempt):
        yield
