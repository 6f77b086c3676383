"""The sandbox's Lambda functions (chalicelib/sandbox/lambdas.py) follow Lambda's rules for
failures: an asynchronous event is tried three times, then dropped, and every failure is
logged and kept; a launch message that failed is handed back for another delivery."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib.cloud.events import ExecutionEnded, LaunchMessage
from chalicelib.sandbox.lambdas import ASYNC_TRIES, LambdaFunctions

ENDED = {"source": "aws.states", "detail": {"name": "run-1", "status": "SUCCEEDED"}}


@dataclass
class Finaliser:
    failures_left: int
    seen: list[ExecutionEnded] = field(default_factory=list)

    def execution_ended(self, ended: ExecutionEnded) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("throttled")
        self.seen.append(ended)


def functions_with(**services: Any) -> LambdaFunctions:
    fake: Any = SimpleNamespace(**services)
    return LambdaFunctions(fake, sleep=lambda seconds: None)


def test_an_event_that_fails_twice_is_handled_on_its_third_try() -> None:
    finaliser = Finaliser(failures_left=2)
    functions = functions_with(run_finaliser=finaliser)

    functions.execution_ended(ENDED)

    assert [ended.run_id for ended in finaliser.seen] == ["run-1"]
    assert functions.failures == ["execution_ended: RuntimeError: throttled"] * 2


def test_an_event_that_keeps_failing_is_dropped_after_three_tries_and_said_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    finaliser = Finaliser(failures_left=10)
    functions = functions_with(run_finaliser=finaliser)

    with caplog.at_level(logging.ERROR, logger="containerops.sandbox"):
        functions.execution_ended(ENDED)

    assert finaliser.seen == [] and len(functions.failures) == ASYNC_TRIES
    assert "failed 3 times: the event is dropped" in caplog.text


def test_a_launch_that_fails_is_reported_for_another_delivery_and_the_others_are_not() -> None:
    launched: list[str] = []

    class Launcher:
        def launch(self, message: LaunchMessage) -> None:
            if message.job == "broken":
                raise RuntimeError("DynamoDB throttled")
            launched.append(message.job)

    functions = functions_with(launcher=Launcher())
    records = [{"messageId": f"m-{job}", "body": json.dumps(
        {"run_id": "run-1", "job": job, "attempt": 1, "token": "t"})} for job in ("broken", "fine")]

    again = functions.launch_jobs({"Records": records})

    assert again == {"m-broken"}
    assert launched == ["fine"]
    assert functions.failures == ["launch_jobs: 1 message(s) reported for another delivery"]


def test_the_schedule_triggers_check_is_tried_again_when_it_fails_like_every_minute_schedule() -> None:
    checks: list[str] = []

    class Schedules:
        def check(self) -> int:
            checks.append("check")
            if len(checks) == 1:
                raise RuntimeError("DynamoDB throttled")
            return 1

    functions = functions_with(schedules=Schedules())

    functions.start_scheduled_runs()

    assert checks == ["check", "check"]
    assert functions.failures == ["start_scheduled_runs: RuntimeError: DynamoDB throttled"]
