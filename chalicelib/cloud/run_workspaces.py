"""The runs' workspaces on the cloud path: layers under a prefix per run (`RunWorkspaces`).

Files the server adds (a fan-out group's lists, written when the group ends) are written to a
temporary folder and saved from it as one layer named after the job, as a job's sidecar
saves what it changed: restore applies it after every layer saved before it.

A re-run from failure gets copies of the layers of the run it re-runs, under its own prefix
and with the same names, so its first restore rebuilds what that run left, as a local re-run
starts from a copy of the folder. A run that succeeded has its layers removed. The layers'
store is a port (`chalicelib.workspace.store.LayerStore`: S3 when deployed); its errors
reach the callers as `ServiceUnavailable`, since trying again later may work.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from chalicelib.engine.aggregate import ListFiles
from chalicelib.errors import ServiceUnavailable, WorkspaceError
from chalicelib.workspace.folder_files import FolderListFiles
from chalicelib.workspace.store import LayerStore
from chalicelib.workspace.sync import copy_run, discard_run, save

T = TypeVar("T")

log = logging.getLogger("containerops.cloud")


class LayeredRunWorkspaces:
    def __init__(self, layers: LayerStore) -> None:
        self._layers = layers

    def start_from(self, run_id: str, previous_run_id: str) -> None:
        try:
            copied = copy_run(self._layers, previous_run_id, run_id)
        except WorkspaceError as exc:
            raise ServiceUnavailable(
                f"the workspace of run {previous_run_id} could not be copied for its re-run: {exc}") from exc
        log.info("re-run %s starts from %d workspace layers of run %s", run_id, copied, previous_run_id)

    def discard(self, run_id: str) -> None:
        try:
            removed = discard_run(self._layers, run_id)
        except WorkspaceError as exc:
            raise ServiceUnavailable(f"the workspace of run {run_id} could not be removed: {exc}") from exc
        log.info("run %s succeeded: %d workspace layers removed", run_id, removed)

    def add_files(self, run_id: str, job: str, write: Callable[[ListFiles], T]) -> T:
        with tempfile.TemporaryDirectory(prefix="co-workspace-files-") as folder:
            root = Path(folder) / "workspace"
            root.mkdir()
            written = write(FolderListFiles(root))
            try:
                saved = save(self._layers, run_id, job, 1, root, Path(folder) / "no-snapshot.json",
                             time.time_ns, temp_dir=Path(folder))
            except WorkspaceError as exc:
                raise ServiceUnavailable(
                    f"the files of job '{job}' could not be added to the workspace of run {run_id}: {exc}"
                ) from exc
        if saved.key is not None:
            log.info("run %s: job %s added %d files to the workspace as %s", run_id, job, saved.files,
                     saved.key)
        return written
