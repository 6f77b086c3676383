"""Per-run workspace folders, mounted at /workspace in every job of the run.

Jobs pass files to later jobs through it (clone → test → package). It lives under the
data directory. A failed or cancelled run keeps it, and so does each workflow's newest
succeeded run (engine.rerun.keeps_workspace), so a re-run starts from a copy of what the
reused jobs left behind; an older success's is removed when a newer one succeeds.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from chalicelib.domain.protocol import WORKSPACE_MOUNT
from chalicelib.workspace.folder_files import ANYONE_FOLDER

MOUNT_POINT = WORKSPACE_MOUNT


class Workspaces:
    def __init__(self, root: Path) -> None:
        self._root = root

    def path(self, run_id: str) -> Path:
        return self._root / run_id

    def prepare(self, run_id: str, copy_from: str | None = None) -> Path:
        path = self.path(run_id)
        if not path.exists():
            source = self.path(copy_from) if copy_from else None
            if source is not None and source.is_dir():
                shutil.copytree(source, path, symlinks=True)
                _take_owners(source, path)
            else:
                path.mkdir(parents=True)
        # Containers run as another, unprivileged user: the folder must be theirs to write.
        os.chmod(path, ANYONE_FOLDER)
        return path

    def discard(self, run_id: str) -> None:
        shutil.rmtree(self.path(run_id), ignore_errors=True)


def _take_owners(source: Path, copy: Path) -> None:
    """Give every copied entry its original's owner, as `cp -a` would: the jobs run as an
    unprivileged user, and a file the server copied as root would be theirs to read but no
    longer to overwrite (a re-run's `test` writing its report again). Only root can, and
    needs to: otherwise the copies are already the server's user's, as the originals were."""
    if os.geteuid() != 0:
        return
    for folder, folders, files in os.walk(source):
        relative = Path(folder).relative_to(source)
        for name in [".", *folders, *files]:
            original = Path(folder) / name if name != "." else Path(folder)
            target = copy / relative / name if name != "." else copy / relative
            owner = os.lstat(original)
            os.lchown(target, owner.st_uid, owner.st_gid)
