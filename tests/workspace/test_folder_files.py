"""The files the server adds to a run's workspace folder (a fan-out group's lists)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from chalicelib.workspace.folder_files import FolderListFiles


def test_a_file_is_written_with_its_folders_and_every_job_may_change_them(tmp_path: Path) -> None:
    with FolderListFiles(tmp_path).open(".containerops/fanout/test/COUNT.json") as stream:
        stream.write('["1"]')
    written = tmp_path / ".containerops/fanout/test/COUNT.json"
    assert written.read_text() == '["1"]'
    assert stat.S_IMODE(written.stat().st_mode) == 0o666
    for folder in (".containerops", ".containerops/fanout", ".containerops/fanout/test"):
        assert stat.S_IMODE((tmp_path / folder).stat().st_mode) == 0o777


def test_writing_again_replaces_the_file(tmp_path: Path) -> None:
    files = FolderListFiles(tmp_path)
    for text in ('["a","b","c"]', '["d"]'):
        with files.open("lists/A.json") as stream:
            stream.write(text)
    assert (tmp_path / "lists/A.json").read_text() == '["d"]'


def test_a_symlink_a_job_left_in_the_path_is_not_followed(tmp_path: Path) -> None:
    workspace, elsewhere = tmp_path / "workspace", tmp_path / "elsewhere"
    workspace.mkdir()
    elsewhere.mkdir()
    (workspace / ".containerops").symlink_to(elsewhere)
    with pytest.raises(OSError):
        FolderListFiles(workspace).open(".containerops/fanout/test/COUNT.json")
    assert list(elsewhere.iterdir()) == []


def test_a_symlink_in_place_of_the_file_is_not_followed(tmp_path: Path) -> None:
    workspace, target = tmp_path / "workspace", tmp_path / "target"
    (workspace / "lists").mkdir(parents=True)
    target.write_text("keep")
    (workspace / "lists" / "A.json").symlink_to(target)
    with pytest.raises(OSError):
        FolderListFiles(workspace).open("lists/A.json")
    assert target.read_text() == "keep"


def test_a_path_leaving_the_workspace_is_refused(tmp_path: Path) -> None:
    for path in ("../outside.json", "/etc/outside.json", "a/../../b.json"):
        with pytest.raises(ValueError, match="is not a path inside the workspace"):
            FolderListFiles(tmp_path).open(path)
