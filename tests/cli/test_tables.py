"""Tables never cut what a user must copy: whole values, aligned, in a pipe or a narrow terminal."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.text import Text

from chalicelib.cli.tables import aligned_lines, print_table
from chalicelib.domain.states import RunState
from chalicelib.engine.records import RunRecord
from chalicelib.store.sqlite import open_store

CLI = [sys.executable, "-m", "chalicelib.cli.main"]
RUN_IDS = ("20261201-081715-8f5e10aa", "20261201-081716-0c1d2e3f")
LONG_REASON = "job 'a-job-with-a-rather-long-name' failed: container exited with code 2"


def store_runs(data_dir: Path) -> None:
    store = open_store(data_dir)
    try:
        for number, run_id in enumerate(RUN_IDS):
            store.create_run(RunRecord(
                id=run_id, namespace="a-team-namespace", workflow="a-workflow-with-a-long-name",
                workflow_version=12, status=(RunState.SUCCEEDED, RunState.FAILED)[number],
                created_at=1_764_576_000.0 + number, started_at=1_764_576_001.0 + number,
                finished_at=1_764_576_031.0 + number, reason=("", LONG_REASON)[number]), [])
    finally:
        store.close()


def runs_in_a_pipe(data_dir: Path, columns: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "runs", "--data-dir", str(data_dir)], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "COLUMNS": str(columns)})


def test_runs_in_a_narrow_pipe_prints_whole_ids_a_script_can_pick_up(tmp_path: Path) -> None:
    store_runs(tmp_path)

    result = runs_in_a_pipe(tmp_path, columns=40)

    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["RUN", "WORKFLOW", "VERSION", "STATUS", "CREATED", "TIME", "REASON"]
    assert [row.split()[0] for row in rows] == list(reversed(RUN_IDS))  # `awk '{print $1}'`
    assert [row.split()[3] for row in rows] == ["failed", "succeeded"]
    assert all("a-team-namespace/a-workflow-with-a-long-name" in row for row in rows)
    assert rows[0].endswith(LONG_REASON)
    assert "…" not in result.stdout and "\x1b" not in result.stdout


def test_the_columns_line_up_under_their_headers(tmp_path: Path) -> None:
    store_runs(tmp_path)

    header, *rows = runs_in_a_pipe(tmp_path, columns=200).stdout.splitlines()

    for name in ("WORKFLOW", "VERSION", "STATUS", "CREATED"):
        column = header.index(name)
        assert all(row[column - 3:column] == "   " and row[column] != " " for row in rows), name


def test_a_narrow_terminal_gets_every_value_whole_too() -> None:
    sink = io.StringIO()
    terminal = Console(file=sink, width=30, force_terminal=True, color_system=None)

    print_table(terminal, ("run", "status"), [(RUN_IDS[0], Text("succeeded", style="green"))])

    assert sink.getvalue().splitlines() == [
        f"{'RUN':<{len(RUN_IDS[0])}}   STATUS", f"{RUN_IDS[0]}   succeeded"]


def test_a_line_break_inside_a_value_does_not_break_the_row() -> None:
    lines = aligned_lines(("job", "reason"), [("a", "first line\nsecond line")])

    assert [line.plain for line in lines] == ["JOB   REASON", "a     first line second line"]
