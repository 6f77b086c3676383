"""Fakes of the aws-mode ports (chalicelib/cloud/ports.py) for the handlers' tests: they keep
what they were asked, so a test reads what a handler told Step Functions and ECS."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from chalicelib.cloud.events import ExecutionEnded, TaskStopped
from chalicelib.cloud.ports import TaskRequest
from chalicelib.domain.models import Workflow
from chalicelib.engine.aggregate import ListFiles
from chalicelib.errors import LaunchError, ServiceUnavailable
from tests.fakes.list_files import MemoryListFiles

T = TypeVar("T")

TASK_ARN_PREFIX = "arn:aws:ecs:us-east-1:123456789012:task/containerops/"


@dataclass
class FakeExecutions:
    machines: dict[str, str] = field(default_factory=dict)  # arn -> definition
    started: list[str] = field(default_factory=list)  # run ids
    stopped: list[str] = field(default_factory=list)
    answers: list[tuple[str, str, str]] = field(default_factory=list)  # (token, error, cause)
    closed: set[str] = field(default_factory=set)
    ends: dict[tuple[str, str], ExecutionEnded] = field(default_factory=dict)  # (machine, run) -> end

    def machine_arn(self, workflow: Workflow, version: int) -> str:
        return f"arn:aws:states:us-east-1:123456789012:stateMachine:{workflow.metadata.name}-v{version}"

    def ensure_machine(self, workflow: Workflow, version: int, definition: str) -> str:
        arn = self.machine_arn(workflow, version)
        self.machines[arn] = definition
        return arn

    def end_of(self, machine_arn: str, run_id: str) -> ExecutionEnded | None:
        return self.ends.get((machine_arn, run_id))

    def start(self, machine_arn: str, run_id: str) -> None:
        if run_id not in self.started:
            self.started.append(run_id)

    def stop(self, machine_arn: str, run_id: str, cause: str) -> None:
        self.stopped.append(run_id)

    def succeed(self, token: str) -> None:
        self._answer(token, "", "")

    def fail(self, token: str, error: str, cause: str) -> None:
        self._answer(token, error, cause)

    def _answer(self, token: str, error: str, cause: str) -> None:
        if token in self.closed:
            return  # as Step Functions: a closed token's answer is ignored
        self.closed.add(token)
        self.answers.append((token, error, cause))

    def answer_of(self, token: str) -> tuple[str, str] | None:
        """(error, cause) of the token's answer ("" error for success), or None."""
        for answered, error, cause in self.answers:
            if answered == token:
                return error, cause
        return None


@dataclass
class FakeTasks:
    requests: list[TaskRequest] = field(default_factory=list)
    stopped: list[tuple[str, str]] = field(default_factory=list)
    refuse_with: str = ""  # every run raises LaunchError with this
    ends: dict[str, TaskStopped] = field(default_factory=dict)  # what ECS says of stopped tasks
    _by_key: dict[str, str] = field(default_factory=dict)

    def run(self, request: TaskRequest) -> str:
        if self.refuse_with:
            raise LaunchError(self.refuse_with)
        if request.key in self._by_key:
            return self._by_key[request.key]
        self.requests.append(request)
        arn = TASK_ARN_PREFIX + hashlib.sha256(request.key.encode()).hexdigest()[:32]
        self._by_key[request.key] = arn
        return arn

    def find(self, request_key: str) -> str | None:
        return self._by_key.get(request_key)

    def stop(self, task_arn: str, reason: str) -> None:
        self.stopped.append((task_arn, reason))

    def end_of(self, task_arn: str) -> TaskStopped | None:
        return self.ends.get(task_arn)


@dataclass
class FakeSecrets:
    known: dict[str, str] = field(default_factory=dict)

    def values(self, names: list[str]) -> dict[str, str]:
        return {name: self.known[name] for name in names if name in self.known}


@dataclass
class FakeWorkspaces:
    """The runs' workspaces: what was asked of them (re-runs started from, runs discarded)."""

    started_from: list[tuple[str, str]] = field(default_factory=list)
    discarded: list[str] = field(default_factory=list)
    unavailable: str = ""  # every call raises ServiceUnavailable with this
    # The files added, by run: relative path -> text.
    added: dict[str, dict[str, str]] = field(default_factory=dict)

    def start_from(self, run_id: str, previous_run_id: str) -> None:
        self._check()
        self.started_from.append((run_id, previous_run_id))

    def discard(self, run_id: str) -> None:
        self._check()
        self.discarded.append(run_id)

    def add_files(self, run_id: str, job: str, write: Callable[[ListFiles], T]) -> T:
        self._check()
        files = MemoryListFiles()
        written = write(files)
        self.added.setdefault(run_id, {}).update(files.texts())
        return written

    def _check(self) -> None:
        if self.unavailable:
            raise ServiceUnavailable(self.unavailable)
