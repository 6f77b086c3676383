"""The stack's states and waits, on a scripted CloudFormation (no sleeping: sleep is given)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.deploy.stack import Stacks, StackState, state_of
from chalicelib.errors import DeployFailed


class ScriptedCloudFormation:
    """Answers describe_stacks with the statuses given, one per call (the last one repeats)."""

    def __init__(self, statuses: list[str | None], events: list[dict[str, str]] | None = None,
                 update_error: str | None = None) -> None:
        self.statuses, self.events, self.update_error = list(statuses), events or [], update_error
        self.calls: list[str] = []

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        if status is None:
            missing = {"Code": "ValidationError", "Message": f"Stack with id {StackName} does not exist"}
            raise ClientError({"Error": missing}, "DescribeStacks")
        return {"Stacks": [{"StackName": StackName, "StackStatus": status}]}

    def create_stack(self, **kwargs: Any) -> None:
        self.calls.append("create")

    def update_stack(self, **kwargs: Any) -> None:
        self.calls.append("update")
        if self.update_error:
            refusal = {"Code": "ValidationError", "Message": self.update_error}
            raise ClientError({"Error": refusal}, "UpdateStack")

    def delete_stack(self, **kwargs: Any) -> None:
        self.calls.append("delete")

    def describe_stack_events(self, StackName: str) -> dict[str, Any]:
        return {"StackEvents": self.events}


def stacks(client: ScriptedCloudFormation, slept: list[float] | None = None) -> Stacks:
    waits = slept if slept is not None else []
    return Stacks(client, sleep=waits.append, poll_seconds=5)  # type: ignore[arg-type]


@pytest.mark.parametrize(("status", "state"), [
    (None, StackState.ABSENT), ("DELETE_COMPLETE", StackState.ABSENT),
    ("CREATE_COMPLETE", StackState.READY), ("UPDATE_ROLLBACK_COMPLETE", StackState.READY),
    ("CREATE_IN_PROGRESS", StackState.BUSY), ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", StackState.BUSY),
    ("ROLLBACK_COMPLETE", StackState.MUST_DELETE), ("UPDATE_ROLLBACK_FAILED", StackState.BROKEN),
])
def test_each_status_allows_what_cloudformation_allows(status: str | None, state: StackState) -> None:
    assert state_of(status) is state


def test_a_new_stack_is_created_and_waited_for() -> None:
    client = ScriptedCloudFormation([None, "CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "CREATE_COMPLETE"])
    slept: list[float] = []
    applied = stacks(client, slept).apply("s", "https://t", [])
    assert applied.created and client.calls == ["create"] and slept == [5, 5]


def test_a_failed_creation_says_what_failed_first() -> None:
    events = [{"LogicalResourceId": "s", "ResourceStatus": "ROLLBACK_IN_PROGRESS",
               "ResourceStatusReason": "The following resource(s) failed to create: [JobCluster]"},
              {"LogicalResourceId": "JobCluster", "ResourceStatus": "CREATE_FAILED",
               "ResourceStatusReason": "Resource handler returned message: access denied"}]
    client = ScriptedCloudFormation([None, "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE"], events)
    with pytest.raises(DeployFailed, match=r"(?s)not created: it is ROLLBACK_COMPLETE.*JobCluster: Resource"):
        stacks(client).apply("s", "https://t", [])


def test_a_stack_left_in_rollback_complete_is_not_touched_and_must_be_destroyed() -> None:
    client = ScriptedCloudFormation(["ROLLBACK_COMPLETE"])
    with pytest.raises(DeployFailed, match=r"must be deleted|make destroy STACK=s"):
        stacks(client).apply("s", "https://t", [])
    assert client.calls == []


def test_an_update_waits_for_a_deploy_already_under_way() -> None:
    client = ScriptedCloudFormation(["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE", "UPDATE_IN_PROGRESS",
                                     "UPDATE_COMPLETE"])
    applied = stacks(client).apply("s", "https://t", [])
    assert not applied.created and applied.changed and client.calls == ["update"]


def test_an_update_with_nothing_to_change_is_not_an_error() -> None:
    client = ScriptedCloudFormation(["CREATE_COMPLETE"], update_error="No updates are to be performed.")
    applied = stacks(client).apply("s", "https://t", [])
    assert not applied.changed and not applied.created


def test_a_rolled_back_update_fails_the_deploy() -> None:
    client = ScriptedCloudFormation(["UPDATE_COMPLETE", "UPDATE_ROLLBACK_IN_PROGRESS",
                                     "UPDATE_ROLLBACK_COMPLETE"])
    with pytest.raises(DeployFailed, match="not updated: it is UPDATE_ROLLBACK_COMPLETE"):
        stacks(client).apply("s", "https://t", [])


def test_a_wait_gives_up_after_its_timeout() -> None:
    ticks = iter(range(0, 10_000, 1000))
    client = ScriptedCloudFormation([None, "CREATE_IN_PROGRESS"])
    waiting = Stacks(client, sleep=lambda _: None, clock=lambda: float(next(ticks)),  # type: ignore[arg-type]
                     timeout_seconds=2500)
    with pytest.raises(DeployFailed, match="still CREATE_IN_PROGRESS after 2500 s"):
        waiting.apply("s", "https://t", [])


def test_deleting_a_stack_waits_until_it_is_gone() -> None:
    client = ScriptedCloudFormation(["CREATE_COMPLETE", "DELETE_IN_PROGRESS", None])
    assert stacks(client).delete("s") and client.calls == ["delete"]
