"""The stage scheduler: which jobs may start now (DESIGN §3), graphlib-style."""

from __future__ import annotations

import pytest

from chalicelib.domain.scheduler import SchedulerError, StageLayout, StageScheduler, layout_of
from tests.builders import action, job, layout, stage, workflow


def scheduler(*stages: str) -> StageScheduler:
    return StageScheduler(layout(*stages))


def run_all(sched: StageScheduler, failing: frozenset[str] = frozenset()) -> list[list[str]]:
    """Drive the scheduler to the end, finishing every ready batch; returns the batches."""
    batches = []
    while ready := sched.get_ready():
        batches.append(ready)
        for name in ready:
            sched.done(name, name not in failing)
    return batches


# --- layout -----------------------------------------------------------------------------


def test_layout_follows_the_workflow_stages_actions_and_jobs() -> None:
    definition = workflow(
        stage("build", action("a", job("compile"), job("pack")), action("b", job("lint"))),
        stage("ship", action("c", job("push")), sequencing="sequence"),
    )
    assert layout_of(definition) == [
        StageLayout(actions=(("compile", "pack"), ("lint",)), sequential=False),
        StageLayout(actions=(("push",),), sequential=True),
    ]


# --- order ------------------------------------------------------------------------------


def test_stages_run_in_order() -> None:
    assert run_all(scheduler("a", "b", "c")) == [["a"], ["b"], ["c"]]


def test_actions_of_a_stage_start_together() -> None:
    assert run_all(scheduler("a | b | c", "d")) == [["a", "b", "c"], ["d"]]


def test_jobs_of_an_action_run_one_after_another() -> None:
    assert run_all(scheduler("a1 a2 a3 | b1")) == [["a1", "b1"], ["a2"], ["a3"]]


def test_next_stage_waits_for_every_action_of_the_current_one() -> None:
    sched = scheduler("a | b", "c")
    assert sched.get_ready() == ["a", "b"]
    sched.done("a", True)
    assert sched.get_ready() == []
    sched.done("b", True)
    assert sched.get_ready() == ["c"]


def test_job_is_handed_out_only_once() -> None:
    sched = scheduler("a | b")
    assert sched.get_ready() == ["a", "b"]
    assert sched.get_ready() == []
    assert sorted(sched.running()) == ["a", "b"]


def test_a_finished_action_does_not_wait_for_a_slower_neighbour() -> None:
    sched = scheduler("a1 a2 | b1")
    assert sched.get_ready() == ["a1", "b1"]
    sched.done("a1", True)
    assert sched.get_ready() == ["a2"]
    sched.done("a2", True)
    assert sched.get_ready() == []
    assert sched.running() == ["b1"]


def test_sequence_stage_runs_its_actions_one_after_another() -> None:
    assert run_all(scheduler("seq: a1 a2 | b1 | c1", "d")) == [
        ["a1"],
        ["a2"],
        ["b1"],
        ["c1"],
        ["d"],
    ]


def test_everything_done_means_not_active() -> None:
    sched = scheduler("a | b", "c")
    assert sched.is_active()
    run_all(sched)
    assert not sched.is_active()
    assert sched.never_started() == []
    assert sched.running() == []


# --- failure ----------------------------------------------------------------------------


def test_failure_starts_nothing_new() -> None:
    sched = scheduler("a1 a2 | b1", "c")
    assert sched.get_ready() == ["a1", "b1"]
    sched.done("a1", False)
    assert sched.halted
    assert sched.get_ready() == []


def test_after_failure_running_lists_what_to_stop() -> None:
    sched = scheduler("a | b | c", "d")
    sched.get_ready()
    sched.done("a", False)
    assert sched.running() == ["b", "c"]
    assert sched.is_active()
    sched.done("b", True)
    sched.done("c", False)
    assert not sched.is_active()
    assert sched.never_started() == ["d"]


def test_failure_in_a_sequence_stage_stops_the_remaining_actions() -> None:
    sched = scheduler("seq: a | b")
    assert run_all(sched, failing=frozenset({"a"})) == [["a"]]
    assert sched.never_started() == ["b"]


def test_failure_in_a_later_stage_leaves_earlier_stages_done() -> None:
    sched = scheduler("a", "b1 b2", "c")
    assert run_all(sched, failing=frozenset({"b1"})) == [["a"], ["b1"]]
    assert sched.never_started() == ["b2", "c"]


def test_halt_starts_nothing_more_but_keeps_running_jobs_listed() -> None:
    sched = scheduler("a | b", "c")
    sched.get_ready()
    sched.halt()
    assert sched.get_ready() == []
    assert sched.running() == ["a", "b"]
    sched.done("a", True)
    sched.done("b", True)
    assert not sched.is_active()
    assert sched.never_started() == ["c"]


# --- restore after a restart ------------------------------------------------------------


def test_restore_continues_where_the_run_left_off() -> None:
    sched = scheduler("a1 a2 | b1", "c")
    sched.restore("a1", passed=True)
    sched.restore("a2", running=True)
    sched.restore("b1", passed=True)
    assert sched.get_ready() == []
    assert sched.running() == ["a2"]
    sched.done("a2", True)
    assert sched.get_ready() == ["c"]


def test_restored_failure_halts_the_run() -> None:
    sched = scheduler("a | b", "c")
    sched.restore("a", passed=False)
    sched.restore("b", running=True)
    assert sched.get_ready() == []
    assert sched.running() == ["b"]


def test_restore_without_a_state_leaves_the_job_waiting() -> None:
    sched = scheduler("a", "b")
    sched.restore("a")
    assert sched.get_ready() == ["a"]


def test_restored_sequence_stage_resumes_with_the_next_action() -> None:
    sched = scheduler("seq: a | b | c")
    sched.restore("a", passed=True)
    assert sched.get_ready() == ["b"]


# --- misuse -----------------------------------------------------------------------------


def test_done_of_a_job_never_handed_out_is_an_error() -> None:
    sched = scheduler("a", "b")
    with pytest.raises(SchedulerError, match="job 'b' was not running \\(waiting\\)"):
        sched.done("b", True)


def test_done_twice_is_an_error() -> None:
    sched = scheduler("a", "b")
    sched.get_ready()
    sched.done("a", True)
    with pytest.raises(SchedulerError, match="job 'a' was not running \\(passed\\)"):
        sched.done("a", True)


def test_done_of_an_unknown_job_is_an_error() -> None:
    with pytest.raises(SchedulerError, match="unknown job 'ghost'"):
        scheduler("a").done("ghost", True)


def test_restore_of_an_unknown_job_is_an_error() -> None:
    with pytest.raises(SchedulerError, match="unknown job 'ghost'"):
        scheduler("a").restore("ghost", passed=True)


@pytest.mark.parametrize("stages", [("a a",), ("a | a",), ("a", "a")])
def test_duplicate_job_names_are_an_error(stages: tuple[str, ...]) -> None:
    with pytest.raises(SchedulerError, match="job 'a' appears twice"):
        scheduler(*stages)


def test_upcoming_names_the_next_stage_while_the_current_one_runs() -> None:
    sched = scheduler("a1 | a2", "b1 | b2 b3")
    sched.get_ready()

    assert sched.upcoming() == ["b1", "b2"]
    assert sched.get_ready() == [], "preparing jobs does not hand them out"


def test_upcoming_names_the_next_job_of_an_action() -> None:
    sched = scheduler("a1 a2 | b1")
    sched.get_ready()
    sched.done("b1", passed=True)

    assert sched.upcoming() == ["a2"]


def test_nothing_is_upcoming_once_the_run_halts() -> None:
    sched = scheduler("a1 | a2", "b1")
    sched.get_ready()
    sched.done("a1", passed=False)

    assert sched.upcoming() == []
