"""Files the server adds to a run's workspace folder (a fan-out group's lists: engine.aggregate),
written so that every job of the run may change them as it may the rest of its workspace.
The local driver writes into the run's folder itself; the cloud path into a temporary
folder it then saves as one layer (cloud/run_workspaces.py)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO

ANYONE_FOLDER = stat.S_IRWXU | stat.S_IRWXG | stat.S_IRWXO
ANYONE_FILE = ANYONE_FOLDER & ~(stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


class FolderListFiles:
    """A fan-out group's list files (engine.aggregate.ListFiles) in a run's workspace folder,
    open to every job's user as the folder itself is: folders and files anyone may write, so
    a later job can replace or remove them like anything else in its workspace.

    The server may run as root while the workspace is the jobs' to change, so no part of the
    path is followed through a symlink (a job could point one anywhere): each folder is
    opened relative to the one before it, never by its whole path."""

    def __init__(self, workspace: Path) -> None:
        self._workspace = workspace

    def open(self, relative_path: str) -> IO[str]:
        relative = Path(relative_path)
        if relative.is_absolute() or any(part in ("", ".", "..") for part in relative.parts):
            raise ValueError(f"{relative_path!r} is not a path inside the workspace")
        folder = os.open(self._workspace, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for part in relative.parent.parts:
                try:
                    os.mkdir(part, ANYONE_FOLDER, dir_fd=folder)
                except FileExistsError:
                    pass
                inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder)
                os.close(folder)
                folder = inner
                os.chmod(folder, ANYONE_FOLDER)
            descriptor = os.open(relative.name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW,
                                 ANYONE_FILE, dir_fd=folder)
        finally:
            os.close(folder)
        os.fchmod(descriptor, ANYONE_FILE)
        return os.fdopen(descriptor, "w", encoding="utf-8")
