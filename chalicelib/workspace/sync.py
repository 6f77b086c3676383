"""The workspace operations on a `LayerStore`: restore a run's layers into a folder, save what a
job changed as a new layer, copy a run's layers for its re-run, discard them.

Keys: `runs/<run id>/layers/<save time in ns, 20 digits>-<job>-<attempt>.tar.gz`, so a run's
layers sort in the order they were saved. Restore applies them all in that order, hands the
folder over to the job's user, and writes a snapshot of the result to a state file outside
the folder; save reads that snapshot back after the job and uploads what differs from it. A
job that changed nothing uploads nothing.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chalicelib.errors import WorkspaceError
from chalicelib.workspace.layers import (
    LayerSummary,
    Snapshot,
    apply_layer,
    hand_over,
    snapshot,
    snapshot_from_json,
    snapshot_to_json,
    write_layer,
)
from chalicelib.workspace.snapshots import reason
from chalicelib.workspace.store import LayerStore

LAYER_SUFFIX = ".tar.gz"
# A run id or job name is one segment of a key: no '/', nothing S3 would need to escape. Job
# names the definitions allow (chalicelib/domain/models.JOB_NAME_PATTERN) all fit.
KEY_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class RestoreSummary:
    """`files` and `bytes`: what the layers applied, summed (a path two layers wrote counts
    twice); `seconds`: the whole restore, hand-over and snapshot included."""

    layers: int
    files: int
    bytes: int
    seconds: float


@dataclass(frozen=True)
class SaveSummary:
    """`key` is None when the job changed nothing (no layer uploaded); `had_snapshot` is False
    when restore's snapshot was missing, so the whole workspace counted as new."""

    key: str | None
    files: int
    bytes: int
    deleted: int
    layer_bytes: int
    seconds: float
    had_snapshot: bool


def segment_problem(what: str, value: str) -> str | None:
    """Why `value` cannot be a key segment, in words; None when it can."""
    if KEY_SEGMENT.match(value):
        return None
    return f"{what} {value!r} is not letters, digits, '_', '.' and '-' (starting with a letter or digit)"


def _segment(what: str, value: str) -> str:
    problem = segment_problem(what, value)
    if problem:
        raise WorkspaceError(problem)
    return value


def run_prefix(run_id: str) -> str:
    return f"runs/{_segment('run id', run_id)}/"


def layers_prefix(run_id: str) -> str:
    return f"{run_prefix(run_id)}layers/"


def layer_key(run_id: str, job: str, attempt: int, now_ns: int) -> str:
    if attempt < 1 or now_ns < 0:
        raise WorkspaceError(f"a layer needs an attempt from 1 and a time from 0, not {attempt} and {now_ns}")
    return f"{layers_prefix(run_id)}{now_ns:020d}-{_segment('job', job)}-{attempt}{LAYER_SUFFIX}"


def restore(store: LayerStore, run_id: str, root: Path, state_file: Path,
            owner: tuple[int, int] | None, *,
            on_layer: Callable[[str, LayerSummary], object] | None = None,
            clock: Callable[[], float] = time.perf_counter) -> RestoreSummary:
    """Apply every layer of the run, in key order, into `root`; hand it to `owner` (uid, gid)
    when given; write the snapshot save will compare against to `state_file`."""
    began = clock()
    _check_outside(state_file, root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkspaceError(f"cannot make the workspace folder {root}: {reason(exc)}") from exc
    keys = [key for key in store.keys(layers_prefix(run_id)) if key.endswith(LAYER_SUFFIX)]
    files = size = 0
    for key in keys:
        try:
            with store.open_read(key) as body:
                applied = apply_layer(root, body)
        except WorkspaceError as exc:
            raise WorkspaceError(f"layer {key}: {exc}") from exc
        files, size = files + applied.files, size + applied.bytes
        if on_layer is not None:
            on_layer(key, applied)
    if owner is not None:
        hand_over(root, *owner)
    _write_state(state_file, snapshot(root))
    return RestoreSummary(layers=len(keys), files=files, bytes=size, seconds=clock() - began)


def save(store: LayerStore, run_id: str, job: str, attempt: int, root: Path, state_file: Path,
         clock_ns: Callable[[], int], *, temp_dir: Path | None = None,
         clock: Callable[[], float] = time.perf_counter) -> SaveSummary:
    """Upload what changed in `root` since restore's snapshot as the job attempt's layer; a
    missing snapshot counts as an empty one. The layer is written to a temporary file
    (`temp_dir`, by default the system's) first, so its size is known before the upload."""
    began = clock()
    _check_outside(state_file, root)
    before = read_state(state_file)
    key = layer_key(run_id, job, attempt, clock_ns())
    try:
        with tempfile.TemporaryFile(dir=temp_dir) as layer:
            written = write_layer(root, before or {}, layer)
            if written is None:
                return SaveSummary(None, 0, 0, 0, 0, clock() - began, before is not None)
            layer_bytes = layer.tell()
            layer.seek(0)
            store.write(key, layer, layer_bytes)
    except OSError as exc:
        raise WorkspaceError(f"the layer's temporary file failed: {reason(exc)}") from exc
    return SaveSummary(key, written.files, written.bytes, written.deleted, layer_bytes,
                       clock() - began, before is not None)


def copy_run(store: LayerStore, from_run: str, to_run: str) -> int:
    """Start `to_run`'s workspace from `from_run`'s (a re-run from failure): a copy of each of
    its objects, under the same name after the run's prefix. Return how many."""
    source, destination = run_prefix(from_run), run_prefix(to_run)
    if source == destination:
        raise WorkspaceError(f"run {from_run} cannot be copied onto itself")
    keys = store.keys(source)
    for key in keys:
        store.copy(key, destination + key[len(source):])
    return len(keys)


def discard_run(store: LayerStore, run_id: str) -> int:
    """Delete every object of the run's workspace; return how many."""
    return store.delete_prefix(run_prefix(run_id))


def read_state(state_file: Path) -> Snapshot | None:
    """The snapshot restore wrote; None when there is none."""
    try:
        text = state_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise WorkspaceError(f"cannot read restore's snapshot {state_file}: {reason(exc)}") from exc
    try:
        return snapshot_from_json(text)
    except WorkspaceError as exc:
        raise WorkspaceError(f"{state_file}: {exc}") from exc


def _write_state(state_file: Path, taken: Snapshot) -> None:
    try:
        state_file.parent.mkdir(parents=True, exist_ok=True)
        partial = state_file.with_name(state_file.name + ".partial")
        partial.write_text(snapshot_to_json(taken), encoding="utf-8")
        os.replace(partial, state_file)
    except OSError as exc:
        raise WorkspaceError(f"cannot write the snapshot {state_file}: {reason(exc)}") from exc


def _check_outside(state_file: Path, root: Path) -> None:
    """The snapshot must not be in the workspace: it would be saved as the job's own file."""
    if state_file.resolve().is_relative_to(root.resolve()):
        raise WorkspaceError(f"the snapshot {state_file} must be outside the workspace {root}")
