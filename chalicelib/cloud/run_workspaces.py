"""The runs' workspaces on the cloud path: layers under a prefix per run (`RunWorkspaces`).

A re-run from failure gets copies of the layers of the run it re-runs, under its own prefix
and with the same names, so its first restore rebuilds what that run left, as a local re-run
starts from a copy of the folder. A run that succeeded has its layers removed. The layers'
store is a port (`chalicelib.workspace.store.LayerStore`: S3 when deployed); its errors
reach the callers as `ServiceUnavailable`, since trying again later may work.
"""

from __future__ import annotations

import logging

from chalicelib.errors import ServiceUnavailable, WorkspaceError
from chalicelib.workspace.store import LayerStore
from chalicelib.workspace.sync import copy_run, discard_run

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
