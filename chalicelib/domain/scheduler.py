"""The stage scheduler: which jobs may start now. Pure: no I/O, no clock, no threads.

Like `graphlib.TopologicalSorter`, the caller runs the jobs: it asks `get_ready()`, starts
what it gets, and reports each end with `done(job, passed)`. Rules (DESIGN §3): stages
run in order; in a stage, actions run in parallel (or one after another when the stage
says `sequence`); the jobs of an action run one after another. A job that did not pass
halts the run: nothing new starts, and `running()` names what the caller should stop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from chalicelib.domain.models import Workflow


@dataclass(frozen=True)
class StageLayout:
    actions: tuple[tuple[str, ...], ...]
    sequential: bool = False


def layout_of(workflow: Workflow) -> list[StageLayout]:
    return [
        StageLayout(
            actions=tuple(tuple(job.name for job in action.jobs) for action in stage.actions),
            sequential=stage.sequencing == "sequence",
        )
        for stage in workflow.spec.stages
    ]


class _Mark(Enum):
    WAITING = "waiting"
    HANDED_OUT = "handed out"
    PASSED = "passed"
    FAILED = "failed"


class SchedulerError(RuntimeError):
    """The caller broke the protocol (e.g. reported a job it was never given)."""


class StageScheduler:
    def __init__(self, stages: Sequence[StageLayout]) -> None:
        self._stages = list(stages)
        self._marks: dict[str, _Mark] = {}
        for stage in self._stages:
            for action in stage.actions:
                for job in action:
                    if job in self._marks:
                        raise SchedulerError(f"job '{job}' appears twice")
                    self._marks[job] = _Mark.WAITING
        self._halted = False

    # --- restoring after a restart ----------------------------------------------------
    def restore(self, job: str, *, running: bool = False, passed: bool | None = None) -> None:
        """Mark a job as already handed out (`running`) or finished (`passed`)."""
        self._require(job)
        if running:
            self._marks[job] = _Mark.HANDED_OUT
        elif passed is not None:
            self._finish(job, passed)

    # --- the protocol -----------------------------------------------------------------
    def get_ready(self) -> list[str]:
        """Jobs that may start now; each job is returned once."""
        if self._halted:
            return []
        stage = self._current_stage()
        if stage is None:
            return []
        ready = []
        for action in stage.actions:
            job = self._next_in_action(action)
            if job is not None:
                ready.append(job)
                self._marks[job] = _Mark.HANDED_OUT
            if stage.sequential and not self._action_finished(action):
                break
        return ready

    def done(self, job: str, passed: bool) -> None:
        self._require(job)
        if self._marks[job] is not _Mark.HANDED_OUT:
            raise SchedulerError(f"job '{job}' was not running ({self._marks[job].value})")
        self._finish(job, passed)

    def upcoming(self, depth: int = 1) -> list[str]:
        """Jobs that will be ready within `depth` steps if every running job passes.

        Worth preparing now; the same job may be named again on later calls.
        """
        if self._halted:
            return []
        trial = StageScheduler(self._stages)
        trial._marks = dict(self._marks)
        upcoming: list[str] = []
        for _ in range(depth):
            trial._marks = {
                job: _Mark.PASSED if mark is _Mark.HANDED_OUT else mark
                for job, mark in trial._marks.items()
            }
            ready = trial.get_ready()
            if not ready:
                break
            upcoming.extend(ready)
        return upcoming

    def halt(self) -> None:
        """Start nothing more (a cancel, or a workflow timeout)."""
        self._halted = True

    def is_active(self) -> bool:
        if self.running():
            return True
        return not self._halted and self._current_stage() is not None

    @property
    def halted(self) -> bool:
        return self._halted

    def running(self) -> list[str]:
        return [job for job, mark in self._marks.items() if mark is _Mark.HANDED_OUT]

    def never_started(self) -> list[str]:
        return [job for job, mark in self._marks.items() if mark is _Mark.WAITING]

    # --- internals --------------------------------------------------------------------
    def _require(self, job: str) -> None:
        if job not in self._marks:
            raise SchedulerError(f"unknown job '{job}'")

    def _finish(self, job: str, passed: bool) -> None:
        self._marks[job] = _Mark.PASSED if passed else _Mark.FAILED
        if not passed:
            self._halted = True

    def _current_stage(self) -> StageLayout | None:
        return next((stage for stage in self._stages if not self._stage_finished(stage)), None)

    def _stage_finished(self, stage: StageLayout) -> bool:
        return all(self._action_finished(action) for action in stage.actions)

    def _action_finished(self, action: Iterable[str]) -> bool:
        return all(self._marks[job] in (_Mark.PASSED, _Mark.FAILED) for job in action)

    def _next_in_action(self, action: tuple[str, ...]) -> str | None:
        for job in action:
            mark = self._marks[job]
            if mark is _Mark.WAITING:
                return job
            if mark is not _Mark.PASSED:
                return None
        return None
