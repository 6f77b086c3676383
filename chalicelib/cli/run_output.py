"""What the command prints of runs: a run executed with its progress and its result, and
the run history, as text for people or as JSON for scripts."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click
from rich.text import Text

from chalicelib.bootstrap import Services
from chalicelib.cli.common import EXIT_FAILED, EXIT_INTERRUPTED, Abort, err, out
from chalicelib.cli.progress import duration, progress_for, state_text
from chalicelib.cli.tables import print_table
from chalicelib.domain.states import RunState
from chalicelib.engine.records import JobRecord, RunRecord
from chalicelib.errors import ContainerOpsError
from chalicelib.services.reuse_origins import reuse_origins
from chalicelib.services.run_views import run_document, run_summary


def finish_run(services: Services, run_id: str, output: str) -> None:
    """Execute the run with progress; Ctrl-C cancels it. Exits 0 only if it succeeded."""
    store = services.store
    run = store.get_run(run_id)
    stage_names = [s.name for s in store.get_workflow(
        run.namespace, run.workflow, run.workflow_version).workflow.spec.stages]
    if output == "text":
        err.print(Text(f"run {run_id} of {run.namespace}/{run.workflow} "
                       f"v{run.workflow_version}", style="bold"))
    progress = progress_for(output, out, store.list_jobs(run_id), stage_names)
    result: dict[str, Any] = {}

    def execute() -> None:
        try:
            result["run"] = services.driver.execute(run_id, progress)
        except ContainerOpsError as exc:
            result["error"] = exc

    # A daemon thread, so a second Ctrl-C can leave at once: the run is then finished by
    # `containerops resume`, which re-attaches to its containers.
    worker = threading.Thread(target=execute, name=f"run-{run_id}", daemon=True)
    cancelling = False
    with progress:
        worker.start()
        while worker.is_alive():
            try:
                worker.join(0.2)
            except KeyboardInterrupt:
                if cancelling:
                    err.print(f"left run {run_id} running: `containerops resume` finishes it")
                    sys.exit(EXIT_INTERRUPTED)
                cancelling = True
                err.print("cancelling the run (Ctrl-C again to leave it running)")
                services.driver.cancel(run_id)
    if "error" in result:
        raise Abort(str(result["error"]))
    print_run_result(services, run_id, output)


def print_run_result(services: Services, run_id: str, output: str) -> None:
    store = services.store
    run = store.get_run(run_id)
    jobs = store.list_jobs(run_id)
    show_run_result(run, jobs, lambda: run_document(run, jobs, store.list_attempts(run_id),
                                                     reuse_origins(store, run, jobs)), output)


def show_run_result(run: RunRecord, jobs: list[JobRecord],
                    document: Callable[[], dict[str, Any]], output: str) -> None:
    """The final record (json) or summary (text); exits 1 unless the run succeeded."""
    if output == "json":
        click.echo(json.dumps(document(), indent=2))
    else:
        summary = Text(f"run {run.id} ")
        summary.append_text(state_text(run.status))
        summary.append(f" in {duration(run.started_at, run.finished_at)}")
        if run.reason:
            summary.append(f": {run.reason}")
        out.print(summary, soft_wrap=True)
        for job in jobs:
            if job.outputs:
                for key, value in job.outputs.items():
                    out.print(Text(f"  {job.name}.{key} = {value}"), soft_wrap=True)
    if run.status is not RunState.SUCCEEDED:
        sys.exit(EXIT_FAILED)


def show_resumed(run: RunRecord) -> None:
    """How a run `resume` took up ended: one line."""
    line = Text(f"run {run.id} ")
    line.append_text(state_text(run.status))
    if run.reason and run.reason != str(run.status):
        line.append(f": {run.reason}")
    out.print(line, soft_wrap=True)


RUNS_COLUMNS = ("run", "workflow", "version", "status", "created", "time", "reason")


def show_runs(records: list[RunRecord], output: str) -> None:
    """The history as JSON, or as a table of whole values (see `tables`)."""
    if output == "json":
        click.echo(json.dumps([run_summary(r) for r in records], indent=2))
        return
    rows = [
        (r.id, f"{r.namespace}/{r.workflow}", str(r.workflow_version), state_text(r.status),
         datetime.fromtimestamp(r.created_at).strftime("%Y-%m-%d %H:%M:%S"),
         duration(r.started_at, r.finished_at), r.reason)
        for r in records
    ]
    print_table(out, RUNS_COLUMNS, rows)
