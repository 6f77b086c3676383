"""The CloudFormation stack: what state it is in, created or updated from a template URL,
waited for, read for its outputs, and deleted. Which states allow what is a pure table
(`StackState`); the waiting is a loop on an injected `sleep` and clock, so tests never wait.

A stack whose first creation failed stays in ROLLBACK_COMPLETE holding nothing, and
CloudFormation can neither update it nor create another of its name: the deploy says so and
asks for `make destroy` rather than deleting anything on its own."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from chalicelib.deploy.aws_errors import error_code, error_message, translated
from chalicelib.deploy.template import CAPABILITIES
from chalicelib.errors import DeployFailed

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

POLL_SECONDS = 10.0
TIMEOUT_SECONDS = 3600.0  # CloudFront distributions alone can take 15 minutes
FAILED_EVENTS_SHOWN = 5


class StackState(Enum):
    ABSENT = "absent"  # no stack of that name (or only a deleted one)
    READY = "ready"  # created or updated: may be updated or deleted
    BUSY = "busy"  # an operation is under way: wait for it
    MUST_DELETE = "must delete"  # its creation failed: only a delete is possible
    BROKEN = "broken"  # a rollback or a delete failed: needs a person


READY = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE",
         "IMPORT_ROLLBACK_COMPLETE"}
MUST_DELETE = {"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED"}
BROKEN = {"UPDATE_ROLLBACK_FAILED", "UPDATE_FAILED", "IMPORT_ROLLBACK_FAILED"}


def state_of(status: str | None) -> StackState:
    if status is None or status == "DELETE_COMPLETE":
        return StackState.ABSENT
    if status in READY:
        return StackState.READY
    if status in MUST_DELETE:
        return StackState.MUST_DELETE
    if status in BROKEN:
        return StackState.BROKEN
    return StackState.BUSY


@dataclass(frozen=True)
class Applied:
    created: bool  # True: the stack is new (its first deploy)
    changed: bool  # False: the template and parameters were already deployed


class Stacks:
    def __init__(self, client: CloudFormationClient, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, poll_seconds: float = POLL_SECONDS,
                 timeout_seconds: float = TIMEOUT_SECONDS) -> None:
        self._client, self._sleep, self._clock = client, sleep, clock
        self._poll, self._timeout = poll_seconds, timeout_seconds

    def status(self, name: str) -> str | None:
        with translated(f"reading the stack {name}"):
            try:
                stacks = self._client.describe_stacks(StackName=name)["Stacks"]
            except ClientError as exc:
                if error_code(exc) == "ValidationError" and "does not exist" in error_message(exc):
                    return None
                raise
        return stacks[0]["StackStatus"] if stacks else None

    def apply(self, name: str, template_url: str, parameters: list[dict[str, str]]) -> Applied:
        """Create the stack, or update it, and wait until CloudFormation is done."""
        status = self._settled(name)
        state = state_of(status)
        if state is StackState.MUST_DELETE:
            raise DeployFailed(
                f"the stack {name} is {status}: its creation failed and CloudFormation keeps it, empty, until"
                f" it is deleted. Read why above or in the console's Events tab, then run `make destroy"
                f" STACK={name}` and deploy again.")
        if state is StackState.BROKEN:
            raise DeployFailed(f"the stack {name} is {status}: CloudFormation could not roll a change back."
                               " Fix it in the console (Stack actions → Continue update rollback), then"
                               " deploy again.")
        common = {"StackName": name, "TemplateURL": template_url, "Parameters": parameters,
                  "Capabilities": list(CAPABILITIES)}
        if state is StackState.ABSENT:
            with translated(f"creating the stack {name}"):
                self._client.create_stack(**common, OnFailure="ROLLBACK",  # type: ignore[arg-type]
                                          Tags=[{"Key": "containerops:stack", "Value": name}])
            self._expect(name, {"CREATE_COMPLETE"}, "created")
            return Applied(created=True, changed=True)
        with translated(f"updating the stack {name}"):
            try:
                self._client.update_stack(**common)  # type: ignore[arg-type]
            except ClientError as exc:
                if "No updates are to be performed" in error_message(exc):
                    return Applied(created=False, changed=False)
                raise
        self._expect(name, {"UPDATE_COMPLETE"}, "updated")
        return Applied(created=False, changed=True)

    def outputs(self, name: str) -> dict[str, str]:
        with translated(f"reading the outputs of {name}"):
            stack = self._client.describe_stacks(StackName=name)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])
                if "OutputKey" in o and "OutputValue" in o}

    def resource_id(self, name: str, logical_id: str) -> str | None:
        with translated(f"reading the resources of {name}"):
            try:
                found = self._client.describe_stack_resource(StackName=name, LogicalResourceId=logical_id)
            except ClientError as exc:
                if error_code(exc) == "ValidationError":
                    return None
                raise
        return found["StackResourceDetail"].get("PhysicalResourceId")

    def delete(self, name: str) -> bool:
        """Delete the stack and wait; False when there was none."""
        if state_of(self._settled(name)) is StackState.ABSENT:
            return False
        with translated(f"deleting the stack {name}"):
            self._client.delete_stack(StackName=name)
        self._expect(name, {"DELETE_COMPLETE", None}, "deleted")
        return True

    def _settled(self, name: str) -> str | None:
        """The stack's status once no operation is under way (another deploy may be running)."""
        return self._wait(name, lambda status: state_of(status) is not StackState.BUSY)

    def _expect(self, name: str, wanted: set[str | None], done: str) -> None:
        status = self._settled(name)
        if status not in wanted:
            raise DeployFailed(f"the stack {name} was not {done}: it is {status}.{self._reasons(name)}")

    def _wait(self, name: str, until: Callable[[str | None], bool]) -> str | None:
        deadline = self._clock() + self._timeout
        while True:
            status = self.status(name)
            if until(status):
                return status
            if self._clock() >= deadline:
                raise DeployFailed(f"the stack {name} is still {status} after {self._timeout:.0f} s; look at"
                                   " its Events in the CloudFormation console")
            self._sleep(self._poll)

    def _reasons(self, name: str) -> str:
        """The first resources that failed, which say why (the last events only say 'rolled back')."""
        try:
            events = self._client.describe_stack_events(StackName=name)["StackEvents"]
        except ClientError:
            return ""
        failed = [e for e in reversed(events) if str(e.get("ResourceStatus", "")).endswith("_FAILED")
                  and e.get("ResourceStatusReason")]
        lines = [f"\n  {e.get('LogicalResourceId')}: {e.get('ResourceStatusReason')}"
                 for e in failed[:FAILED_EVENTS_SHOWN]]
        return (" What failed first:" + "".join(lines)) if lines else ""
