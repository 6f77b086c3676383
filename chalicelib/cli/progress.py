"""Live progress of a run on a terminal, and plain progress lines elsewhere (CI logs).

Once a run is asked to stop (`run_changed` with `cancel_requested` while it still runs), its
running jobs show as "cancelling…" until their containers are gone and they end.

A fan-out job shows as its group, never instance by instance (`group_progressed`): the live
table puts its counts in the job's row; the line mode prints a line of counts when the group
starts, then at most one every GROUP_LINE_SECONDS while it runs, and its end as any job's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from chalicelib.domain.states import JobState, RunState
from chalicelib.engine.fanout import InstanceTally
from chalicelib.engine.records import JobRecord, RunRecord
from chalicelib.local.run_execution import QuietObserver

STATE_STYLES = {
    JobState.PENDING: "dim", JobState.RUNNING: "cyan", JobState.SUCCEEDED: "green",
    JobState.FAILED: "red", JobState.CANCELLED: "yellow", JobState.SKIPPED: "dim",
    JobState.REUSED: "green",
    RunState.QUEUED: "dim", RunState.RUNNING: "cyan", RunState.SUCCEEDED: "green",
    RunState.FAILED: "red", RunState.CANCELLED: "yellow",
}


def duration(started: float | None, finished: float | None, now: float | None = None) -> str:
    if started is None:
        return ""
    seconds = max(0.0, (finished or now or time.time()) - started)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


CANCELLING = "cancelling…"
GROUP_LINE_SECONDS = 5.0


def group_counts(tally: InstanceTally) -> str:
    """`12/40 done: 11 succeeded, 1 failed, 4 running` (only the counts that are not 0)."""
    parts = [f"{count:,} {name}" for name, count in (
        ("succeeded", tally.succeeded), ("reused", tally.reused), ("failed", tally.failed),
        ("cancelled", tally.cancelled), ("skipped", tally.skipped), ("running", tally.running),
    ) if count]
    return f"{tally.finished:,}/{tally.count:,} done" + (f": {', '.join(parts)}" if parts else "")


def state_text(state: JobState | RunState) -> Text:
    return Text(str(state), style=STATE_STYLES.get(state, ""))


def job_state_text(job: JobRecord, cancelling: bool) -> Text:
    """The job's state; a running job of a run being cancelled is "cancelling…"."""
    if cancelling and job.status is JobState.RUNNING:
        return Text(CANCELLING, style=STATE_STYLES[JobState.CANCELLED])
    return state_text(job.status)


def is_cancelling(run: RunRecord) -> bool:
    return run.cancel_requested and not run.status.is_final


def jobs_table(jobs: list[JobRecord], stage_names: list[str], cancelling: bool = False,
               groups: dict[str, str] | None = None) -> Table:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("stage", "job", "status", "attempt", "time", "reason"):
        table.add_column(column)
    for job in jobs:
        table.add_row(
            Text(stage_names[job.stage] if job.stage < len(stage_names) else str(job.stage)),
            Text(job.name),
            job_state_text(job, cancelling),
            str(job.attempts or ""),
            duration(job.started_at, job.finished_at) if job.status is not JobState.PENDING else "",
            Text(job.reason or (groups or {}).get(job.name, ""), overflow="fold"),
        )
    return table


class LiveProgress:
    """A table of jobs redrawn in place as they change (on a terminal)."""

    def __init__(self, console: Console, jobs: list[JobRecord], stage_names: list[str]) -> None:
        self._jobs = {job.name: job for job in jobs}
        self._order = [job.name for job in jobs]
        self._stages = stage_names
        self._cancelling = False
        self._groups: dict[str, str] = {}  # a running group's counts
        self._live = Live(self._render(), console=console, refresh_per_second=4,
                          get_renderable=self._render)

    def __enter__(self) -> LiveProgress:
        self._live.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._live.update(self._render(), refresh=True)
        self._live.__exit__(None, None, None)

    def job_changed(self, job: JobRecord) -> None:
        self._jobs[job.name] = job

    def run_changed(self, run: RunRecord) -> None:
        self._cancelling = is_cancelling(run)

    def group_progressed(self, group: JobRecord, tally: InstanceTally) -> None:
        self._groups[group.name] = group_counts(tally)

    def _render(self) -> Table:
        return jobs_table([self._jobs[name] for name in self._order], self._stages,
                          self._cancelling, self._groups)


class LineProgress:
    """One line per job state change: readable in a CI log or a pipe."""

    def __init__(self, console: Console, *, show_run: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._console = console
        self._clock = clock
        self._group_lines: dict[tuple[str, str], tuple[float, str]] = {}  # when, what it said
        self._show_run = show_run  # several runs at once (`resume`): say whose job it is
        self._seen: dict[tuple[str, str], tuple[str, int]] = {}
        self._jobs: dict[tuple[str, str], JobRecord] = {}
        self._cancelling: set[str] = set()  # run ids

    def job_changed(self, job: JobRecord) -> None:
        self._jobs[(job.run_id, job.name)] = job
        self._show(job)

    def group_progressed(self, group: JobRecord, tally: InstanceTally) -> None:
        """A line of the group's counts: the first, then one every GROUP_LINE_SECONDS at most
        (its end is the group's own line)."""
        key, counts, now = (group.run_id, group.name), group_counts(tally), self._clock()
        last = self._group_lines.get(key)
        if last is not None and (last[1] == counts or now - last[0] < GROUP_LINE_SECONDS):
            return
        self._group_lines[key] = (now, counts)
        line = self._start_line(group.run_id)
        line.append(group.name, style="bold")
        line.append(f" {counts}")
        self._console.print(line, highlight=False, markup=False, soft_wrap=True)

    def _start_line(self, run_id: str) -> Text:
        stamp = datetime.now().strftime("%H:%M:%S")
        return Text(f"{stamp} {run_id} " if self._show_run else f"{stamp} ")

    def run_changed(self, run: RunRecord) -> None:
        if not is_cancelling(run) or run.id in self._cancelling:
            return
        self._cancelling.add(run.id)
        for (run_id, _), job in list(self._jobs.items()):
            if run_id == run.id:
                self._show(job)

    def _show(self, job: JobRecord) -> None:
        """A line when what it says changes. A running job is on its first attempt before
        the attempt is recorded too (the driver marks the job running, then counts the
        attempt): one change, one line; a retry (attempt 2 on) is a line of its own."""
        state = job_state_text(job, job.run_id in self._cancelling)
        attempt = max(job.attempts, 1)
        key = (state.plain, attempt)
        if self._seen.get((job.run_id, job.name)) == key:
            return
        self._seen[(job.run_id, job.name)] = key
        line = self._start_line(job.run_id)
        line.append(job.name, style="bold")
        line.append(" ")
        line.append_text(state)
        if job.status is JobState.RUNNING and attempt > 1:
            line.append(f" (attempt {attempt})")
        if job.status.is_final:
            line.append(f" in {duration(job.started_at, job.finished_at)}")
        if job.reason:
            line.append(f": {job.reason}")
        self._console.print(line, highlight=False, markup=False, soft_wrap=True)

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass


class NoProgress(QuietObserver):
    """Shows nothing (`--output json` prints only the final record)."""

    def __enter__(self) -> NoProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass


Progress = LiveProgress | LineProgress | NoProgress


def progress_for(output: str, console: Console, jobs: list[JobRecord], stage_names: list[str]) -> Progress:
    """How a run's progress is shown: not at all for `--output json`, a table redrawn in
    place on a terminal, a line per change anywhere else (a pipe, a CI log)."""
    if output == "json":
        return NoProgress()
    if console.is_terminal:
        return LiveProgress(console, jobs, stage_names)
    return LineProgress(console)
