"""Each Lambda event, from its raw shape to its handler (chalicelib/cloud/lambda_events.py):
a launch batch reports only the messages worth delivering again."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.cloud import lambda_events
from chalicelib.cloud.events import LaunchMessage
from chalicelib.cloud.launcher import Launched
from chalicelib.errors import StoreUnavailable


class ScriptedLauncher:
    def __init__(self) -> None:
        self.launched: list[LaunchMessage] = []

    def launch(self, message: LaunchMessage) -> Launched:
        if message.job == "throttled":
            raise StoreUnavailable("DynamoDB kept throttling")
        self.launched.append(message)
        return Launched.LAUNCHED


def sqs_event(*bodies: str) -> dict[str, Any]:
    return {"Records": [{"messageId": f"m{i}", "body": body} for i, body in enumerate(bodies)]}


def message(job: str) -> str:
    return json.dumps({"run_id": "r1", "job": job, "attempt": 1, "token": "t"})


def test_a_launch_batch_reports_the_messages_to_deliver_again_and_drops_unreadable_ones() -> None:
    launcher = ScriptedLauncher()
    answer = lambda_events.launch_batch(launcher, sqs_event(  # type: ignore[arg-type]
        message("build"), "not json", message("throttled"), message("lint")))
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    assert [m.job for m in launcher.launched] == ["build", "lint"]


def test_a_task_state_change_that_is_not_a_stop_reaches_no_handler() -> None:
    class NoFinaliser:
        def task_stopped(self, stopped: object) -> None:
            raise AssertionError("not a stop")

    event = {"source": "aws.ecs", "detail": {"lastStatus": "RUNNING", "taskArn": "arn"}}
    lambda_events.task_state_change(NoFinaliser(), event)  # type: ignore[arg-type]


def test_a_launch_message_keeps_its_token_out_of_its_repr() -> None:
    parsed = LaunchMessage.from_body(json.dumps({"run_id": "r", "job": "j", "attempt": 2, "token": "SECRET"}))
    assert parsed.attempt == 2 and "SECRET" not in repr(parsed)
