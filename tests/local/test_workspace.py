"""A run's workspace folder: made for the run, or copied from the run it re-runs."""

from __future__ import annotations

import os
from pathlib import Path

from chalicelib.local.workspace import Workspaces

JOB_USER = 1000  # the unprivileged user the jobs run as


def test_a_copied_workspace_keeps_each_files_owner_so_a_job_can_overwrite_what_it_wrote(
    tmp_path: Path,
) -> None:
    workspaces = Workspaces(tmp_path)
    before = workspaces.prepare("r1")
    (before / "reports").mkdir()
    (before / "reports" / "test.xml").write_text("<testsuite/>")
    (before / "src").symlink_to("reports")
    owner = JOB_USER if os.geteuid() == 0 else os.geteuid()  # as the job left them
    for entry in (before / "reports", before / "reports" / "test.xml", before / "src"):
        os.lchown(entry, owner, owner)

    again = workspaces.prepare("r2", copy_from="r1")

    for name in ("reports", "reports/test.xml", "src"):
        assert os.lstat(again / name).st_uid == owner, name
    assert (again / "reports" / "test.xml").read_text() == "<testsuite/>"
    assert os.readlink(again / "src") == "reports"


def test_a_workspace_without_a_run_to_copy_starts_empty_and_open_to_the_jobs(tmp_path: Path) -> None:
    path = Workspaces(tmp_path).prepare("r1", copy_from="gone")
    assert list(path.iterdir()) == []
    assert path.stat().st_mode & 0o777 == 0o777
