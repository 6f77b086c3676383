"""Live progress of a run on a terminal, and plain progress lines elsewhere (CI logs)."""

from __future__ import annotations

import time
from datetime import datetime

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from chalicelib.domain.states import JobState, RunState
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


def state_text(state: JobState | RunState) -> Text:
    return Text(str(state), style=STATE_STYLES.get(state, ""))


def jobs_table(jobs: list[JobRecord], stage_names: list[str]) -> Table:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("stage", "job", "status", "attempt", "time", "reason"):
        table.add_column(column)
    for job in jobs:
        table.add_row(
            Text(stage_names[job.stage] if job.stage < len(stage_names) else str(job.stage)),
            Text(job.name),
            state_text(job.status),
            str(job.attempts or ""),
            duration(job.started_at, job.finished_at) if job.status is not JobState.PENDING else "",
            Text(job.reason, overflow="fold"),
        )
    return table


class LiveProgress:
    """A table of jobs redrawn in place as they change (on a terminal)."""

    def __init__(self, console: Console, jobs: list[JobRecord], stage_names: list[str]) -> None:
        self._jobs = {job.name: job for job in jobs}
        self._order = [job.name for job in jobs]
        self._stages = stage_names
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
        pass

    def _render(self) -> Table:
        return jobs_table([self._jobs[name] for name in self._order], self._stages)


class LineProgress:
    """One line per job state change: readable in a CI log or a pipe."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._seen: dict[str, tuple[JobState, int]] = {}

    def job_changed(self, job: JobRecord) -> None:
        key = (job.status, job.attempts)
        if self._seen.get(job.name) == key:
            return
        self._seen[job.name] = key
        stamp = datetime.now().strftime("%H:%M:%S")
        line = Text(f"{stamp} ")
        line.append(job.name, style="bold")
        line.append(" ")
        line.append_text(state_text(job.status))
        if job.status is JobState.RUNNING and job.attempts:
            line.append(f" (attempt {job.attempts})")
        if job.status.is_final:
            line.append(f" in {duration(job.started_at, job.finished_at)}")
        if job.reason:
            line.append(f": {job.reason}")
        self._console.print(line, highlight=False, markup=False)

    def run_changed(self, run: RunRecord) -> None:
        pass

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
