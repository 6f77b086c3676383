"""How a run's progress reads: the line mode of a pipe or CI log, and the live table."""

from __future__ import annotations

import io
import re

from rich.console import Console

from chalicelib.cli.progress import LineProgress, LiveProgress, jobs_table
from chalicelib.domain.states import JobState, RunState
from chalicelib.engine.fanout import InstanceTally
from chalicelib.engine.records import JobRecord, RunRecord

STAMP = re.compile(r"^\d\d:\d\d:\d\d ")


def console() -> tuple[Console, io.StringIO]:
    sink = io.StringIO()
    return Console(file=sink, width=80, force_terminal=False, color_system=None), sink


def lines_of(sink: io.StringIO) -> list[str]:
    return [STAMP.sub("", line) for line in sink.getvalue().splitlines()]


def job(name: str, status: JobState, attempts: int = 0, run_id: str = "r1", **fields: object
        ) -> JobRecord:
    return JobRecord(run_id=run_id, name=name, stage=0, action=0, position=0, status=status,
                     attempts=attempts, **fields)  # type: ignore[arg-type]


def run(status: RunState = RunState.RUNNING, cancel_requested: bool = False) -> RunRecord:
    return RunRecord(id="r1", namespace="tests", workflow="w", workflow_version=1, status=status,
                     created_at=0.0, cancel_requested=cancel_requested)


def test_each_change_is_one_line_though_the_attempt_is_counted_after_the_job_runs() -> None:
    shown, sink = console()
    progress = LineProgress(shown)

    progress.job_changed(job("lint", JobState.PENDING))
    progress.job_changed(job("lint", JobState.RUNNING, 0, started_at=1.0))
    progress.job_changed(job("lint", JobState.RUNNING, 1, started_at=1.0))
    progress.job_changed(job("lint", JobState.RUNNING, 1, started_at=1.0))
    progress.job_changed(job("lint", JobState.RUNNING, 2, started_at=1.0))
    progress.job_changed(job("lint", JobState.SUCCEEDED, 2, started_at=1.0, finished_at=4.5))

    assert lines_of(sink) == [
        "lint pending", "lint running", "lint running (attempt 2)", "lint succeeded in 3.5s"]


def test_jobs_of_the_same_name_in_two_runs_each_get_their_lines() -> None:
    shown, sink = console()
    progress = LineProgress(shown)  # `containerops resume` shows every run it finishes

    progress.job_changed(job("build", JobState.RUNNING, 1, run_id="r1"))
    progress.job_changed(job("build", JobState.RUNNING, 1, run_id="r2"))

    assert lines_of(sink) == ["build running", "build running"]


def test_a_long_reason_stays_on_one_line_in_a_narrow_pipe() -> None:
    shown, sink = console()
    reason = "container exited with code 3 after reporting CO_RESULT = true " * 3

    LineProgress(shown).job_changed(job("crash", JobState.FAILED, 1, reason=reason.strip(),
                                        started_at=1.0, finished_at=2.0))

    assert lines_of(sink) == [f"crash failed in 1.0s: {reason.strip()}"]


def test_running_jobs_of_a_run_being_cancelled_show_cancelling_once_each() -> None:
    shown, sink = console()
    progress = LineProgress(shown)
    progress.job_changed(job("sleeper", JobState.RUNNING, 1, started_at=1.0))
    progress.job_changed(job("done", JobState.SUCCEEDED, 1, started_at=1.0, finished_at=2.0))

    progress.run_changed(run(cancel_requested=True))
    progress.run_changed(run(cancel_requested=True))
    progress.job_changed(job("sleeper", JobState.RUNNING, 1, started_at=1.0))
    progress.job_changed(job("sleeper", JobState.CANCELLED, 1, reason="cancelled",
                             started_at=1.0, finished_at=3.0))

    assert lines_of(sink) == [
        "sleeper running",
        "done succeeded in 1.0s",
        "sleeper cancelling…",
        "sleeper cancelled in 2.0s: cancelled",
    ]


def test_a_run_that_is_not_being_cancelled_changes_no_line() -> None:
    shown, sink = console()
    progress = LineProgress(shown)
    progress.job_changed(job("sleeper", JobState.RUNNING, 1))

    progress.run_changed(run())
    progress.run_changed(run(RunState.CANCELLED, cancel_requested=True))

    assert lines_of(sink) == ["sleeper running"]


def test_the_live_table_shows_cancelling_for_running_jobs_while_the_run_stops() -> None:
    shown, sink = console()
    jobs = [job("sleeper", JobState.RUNNING, 1), job("later", JobState.PENDING)]
    with LiveProgress(shown, jobs, ["only"]) as progress:  # drawn once more as it closes
        progress.run_changed(run(cancel_requested=True))

    table = sink.getvalue()
    assert re.search(r"sleeper\s+cancelling…", table)
    assert re.search(r"later\s+pending", table)


def test_the_table_says_running_when_no_cancel_was_asked_for() -> None:
    shown, sink = console()
    shown.print(jobs_table([job("sleeper", JobState.RUNNING, 1)], ["only"]))

    assert re.search(r"sleeper\s+running", sink.getvalue())


def test_a_fan_out_group_prints_lines_of_counts_not_a_line_per_instance() -> None:
    shown, sink = console()
    now = [0.0]
    progress = LineProgress(shown, clock=lambda: now[0])
    group = job("test", JobState.RUNNING, 0, started_at=1.0)

    progress.job_changed(group)
    progress.group_progressed(group, InstanceTally(40, running=4))
    for done in range(1, 30):  # instances ending within 5 s: no line of their own
        progress.group_progressed(group, InstanceTally(40, succeeded=done, running=4))
    now[0] = 6.0
    progress.group_progressed(group, InstanceTally(40, succeeded=30, failed=1, running=4))
    progress.job_changed(job("test", JobState.FAILED, 0, started_at=1.0, finished_at=9.0,
                             reason="1 of 40 instances failed (allowed: 0)"))

    assert lines_of(sink) == [
        "test running", "test 0/40 done: 4 running", "test 31/40 done: 30 succeeded, 1 failed, 4 running",
        "test failed in 8.0s: 1 of 40 instances failed (allowed: 0)"]
