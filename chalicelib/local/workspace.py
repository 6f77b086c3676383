"""Per-run workspace folders, mounted at /workspace in every job of the run.

Jobs pass files to later jobs through it (clone → test → package). It lives under the
data directory. A failed or cancelled run keeps it, and so does each workflow's newest
succeeded run (engine.rerun.keeps_workspace), so a re-run starts from a copy of what the
reused jobs left behind; an older success's is removed when a newer one succeeds.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

MOUNT_POINT = "/workspace"


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
            else:
                path.mkdir(parents=True)
        # Containers run as another, unprivileged user: the folder must be theirs to write.
        os.chmod(path, stat.S_IRWXU | stat.S_IRWXG | stat.S_IRWXO)
        return path

    def discard(self, run_id: str) -> None:
        shutil.rmtree(self.path(run_id), ignore_errors=True)
