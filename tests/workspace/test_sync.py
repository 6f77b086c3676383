"""The workspace operations (chalicelib/workspace/sync.py) on a folder store: what each job of a
run sees after restore, what its save uploads, and a run's layers copied for a re-run or
discarded. Each job has its own folder, as each Fargate task has its own volume."""

from __future__ import annotations

import io
import itertools
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.domain.models import JOB_NAME_PATTERN
from chalicelib.errors import WorkspaceError
from chalicelib.workspace.store import FolderLayerStore
from chalicelib.workspace.sync import (
    KEY_SEGMENT,
    RestoreSummary,
    copy_run,
    discard_run,
    layer_key,
    read_state,
    restore,
    run_prefix,
    save,
)
from tests.workspace.trees import tree, write_tree

RUN = "20261125-173005-4f9a1c2e"


class Run:
    """One run's jobs on one store: each job restores into a fresh folder, runs (the test
    writes its files), and saves; save times come from a clock that only moves forward,
    shared by the runs of a test as the wall clock is."""

    def __init__(self, tmp_path: Path, store: FolderLayerStore, run_id: str = RUN,
                 times: Iterator[int] | None = None) -> None:
        self.tmp_path, self.store, self.run_id = tmp_path, store, run_id
        self.times = times or itertools.count(1_764_000_000_000_000_000, 1_000_000)
        self._folders = itertools.count()

    def start(self, job: str) -> Path:
        """A task of `job` begins: its volume restored, its snapshot written."""
        root = self.tmp_path / f"task-{next(self._folders)}-{job}"
        restore(self.store, self.run_id, root / "workspace", root / "state.json", owner=None)
        return root

    def end(self, task: Path, job: str, attempt: int = 1) -> str | None:
        summary = save(self.store, self.run_id, job, attempt, task / "workspace", task / "state.json",
                       lambda: next(self.times))
        return summary.key


@pytest.fixture
def store(tmp_path: Path) -> FolderLayerStore:
    return FolderLayerStore(tmp_path / "bucket")


@pytest.fixture
def run(tmp_path: Path, store: FolderLayerStore) -> Run:
    return Run(tmp_path, store)


def test_layer_keys_sort_in_save_order_and_name_the_job_and_attempt() -> None:
    key = layer_key(RUN, "unit-tests", 2, 1_764_000_000_123_456_789)
    assert key == f"runs/{RUN}/layers/01764000000123456789-unit-tests-2.tar.gz"
    assert layer_key(RUN, "z", 1, 999) < layer_key(RUN, "a", 1, 1_000)


def test_every_job_name_the_definitions_allow_fits_in_a_key() -> None:
    for name in ("a", "B2", "build_and-test", "x" * 63):
        assert re.match(JOB_NAME_PATTERN, name) and KEY_SEGMENT.match(name)


@pytest.mark.parametrize(("run_id", "job"), [("r/1", "build"), (RUN, "../x"), (RUN, ""), ("", "build")])
def test_a_run_id_or_job_that_is_not_one_key_segment_is_refused(run_id: str, job: str) -> None:
    with pytest.raises(WorkspaceError, match="is not letters, digits"):
        layer_key(run_id, job, 1, 0)


def test_a_run_with_no_layers_restores_an_empty_workspace(run: Run, tmp_path: Path) -> None:
    summary = restore(run.store, RUN, tmp_path / "ws", tmp_path / "state/snapshot.json", owner=None)
    assert (summary.layers, summary.files, summary.bytes) == (0, 0, 0)
    assert tree(tmp_path / "ws") == {}
    assert read_state(tmp_path / "state/snapshot.json") == {}


def test_a_job_sees_the_files_of_the_jobs_before_it(run: Run) -> None:
    clone = run.start("clone")
    write_tree(clone / "workspace", {"repo/app.py": "print('app')\n", "repo/README.md": "# app\n"})
    run.end(clone, "clone")
    build = run.start("build")
    write_tree(build / "workspace", {"repo/dist/app.whl": "wheel"})
    run.end(build, "build")
    package = run.start("package")
    assert tree(package / "workspace") == {
        "repo": "<dir>", "repo/app.py": "print('app')\n", "repo/README.md": "# app\n",
        "repo/dist": "<dir>", "repo/dist/app.whl": "wheel"}


def test_restore_says_how_many_layers_files_and_bytes_it_applied(run: Run, tmp_path: Path) -> None:
    first = run.start("clone")
    write_tree(first / "workspace", {"a.txt": "aaaa", "b.txt": "bb"})
    run.end(first, "clone")
    second = run.start("build")
    write_tree(second / "workspace", {"c.txt": "c"})
    run.end(second, "build")
    times = iter([10.0, 10.25])
    summary = restore(run.store, RUN, tmp_path / "ws", tmp_path / "state.json", owner=None,
                      clock=lambda: next(times))
    assert summary == RestoreSummary(layers=2, files=3, bytes=7, seconds=0.25)


def test_parallel_jobs_writes_to_different_files_both_survive(run: Run) -> None:
    clone = run.start("clone")
    write_tree(clone / "workspace", {"src/app.py": "app"})
    run.end(clone, "clone")
    lint, test = run.start("lint"), run.start("test")
    write_tree(lint / "workspace", {"reports/lint.txt": "clean"})
    write_tree(test / "workspace", {"reports/junit.xml": "<ok/>"})
    run.end(test, "test")
    run.end(lint, "lint")
    package = run.start("package")
    assert tree(package / "workspace")["reports/lint.txt"] == "clean"
    assert tree(package / "workspace")["reports/junit.xml"] == "<ok/>"


def test_when_parallel_jobs_write_the_same_file_the_later_save_wins(run: Run) -> None:
    lint, test = run.start("lint"), run.start("test")
    write_tree(lint / "workspace", {"status": "lint was here"})
    write_tree(test / "workspace", {"status": "test was here"})
    run.end(lint, "lint")
    run.end(test, "test")
    assert tree(run.start("package") / "workspace")["status"] == "test was here"


def test_files_and_trees_a_job_deletes_are_gone_for_the_jobs_after_it(run: Run) -> None:
    build = run.start("build")
    write_tree(build / "workspace", {"build/obj/a.o": "a", "build/tmp.log": "log", "dist/app": "app"})
    run.end(build, "build")
    clean = run.start("clean")
    for path in ("build/obj/a.o", "build/tmp.log"):
        (clean / "workspace" / path).unlink()
    (clean / "workspace/build/obj").rmdir()
    (clean / "workspace/build").rmdir()
    run.end(clean, "clean")
    assert tree(run.start("package") / "workspace") == {"dist": "<dir>", "dist/app": "app"}


def test_a_job_that_changed_nothing_uploads_nothing(run: Run) -> None:
    clone = run.start("clone")
    write_tree(clone / "workspace", {"a.txt": "a"})
    run.end(clone, "clone")
    reader = run.start("lint")
    assert (reader / "workspace/a.txt").read_text() == "a"
    assert run.end(reader, "lint") is None
    assert len(run.store.keys(run_prefix(RUN))) == 1


def test_a_failed_attempts_layer_is_seen_by_the_next_attempt(run: Run) -> None:
    first = run.start("flaky")
    write_tree(first / "workspace", {"cache/downloaded.tgz": "half a download"})
    key = run.end(first, "flaky", attempt=1)
    assert key is not None and key.endswith("-flaky-1.tar.gz")
    second = run.start("flaky")
    assert (second / "workspace/cache/downloaded.tgz").read_text() == "half a download"


def test_without_restores_snapshot_the_whole_workspace_is_saved_and_said_so(
        run: Run, tmp_path: Path) -> None:
    write_tree(tmp_path / "ws", {"a.txt": "a", "b/c.txt": "c"})
    summary = save(run.store, RUN, "build", 1, tmp_path / "ws", tmp_path / "missing.json", lambda: 5)
    assert (summary.had_snapshot, summary.files, summary.bytes) == (False, 3, 2)
    assert summary.key == layer_key(RUN, "build", 1, 5)
    assert summary.layer_bytes == os.path.getsize(tmp_path / "bucket" / summary.key)


def test_the_snapshot_must_live_outside_the_workspace(run: Run, tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="must be outside the workspace"):
        restore(run.store, RUN, tmp_path / "ws", tmp_path / "ws/.state.json", owner=None)
    with pytest.raises(WorkspaceError, match="must be outside the workspace"):
        save(run.store, RUN, "build", 1, tmp_path / "ws", tmp_path / "ws/.state.json", lambda: 5)


def test_a_broken_layer_in_the_store_fails_the_restore_naming_its_key(run: Run, tmp_path: Path) -> None:
    key = layer_key(RUN, "build", 1, 7)
    run.store.write(key, io.BytesIO(b"not a layer"))
    with pytest.raises(WorkspaceError, match=f"layer {re.escape(key)}: not a readable workspace layer"):
        restore(run.store, RUN, tmp_path / "ws", tmp_path / "state.json", owner=None)


def test_a_restored_workspace_is_handed_to_the_jobs_user(run: Run, tmp_path: Path) -> None:
    clone = run.start("clone")
    write_tree(clone / "workspace", {"repo/file.txt": "x"})
    run.end(clone, "clone")
    restore(run.store, RUN, tmp_path / "ws", tmp_path / "state.json", owner=(os.getuid(), os.getgid()))
    assert stat.S_IMODE(os.stat(tmp_path / "ws").st_mode) == 0o777
    assert os.stat(tmp_path / "ws/repo/file.txt").st_uid == os.getuid()
    # Handing over changes nothing save would count as the job's.
    assert save(run.store, RUN, "lint", 1, tmp_path / "ws", tmp_path / "state.json", lambda: 9).key is None


def test_a_rerun_starts_from_the_layers_of_the_run_it_reruns(run: Run, tmp_path: Path) -> None:
    clone = run.start("clone")
    write_tree(clone / "workspace", {"repo/app.py": "app"})
    run.end(clone, "clone")
    failed = run.start("test")
    write_tree(failed / "workspace", {"reports/junit.xml": "<failed/>"})
    run.end(failed, "test")
    rerun = Run(tmp_path / "rerun", run.store, run_id="20261125-180000-0a1b2c3d", times=run.times)
    assert copy_run(run.store, RUN, rerun.run_id) == 2
    retried = rerun.start("test")
    assert tree(retried / "workspace")["reports/junit.xml"] == "<failed/>"
    write_tree(retried / "workspace", {"reports/junit.xml": "<passed/>"})
    rerun.end(retried, "test")
    assert tree(rerun.start("package") / "workspace")["reports/junit.xml"] == "<passed/>"
    assert tree(run.start("package") / "workspace")["reports/junit.xml"] == "<failed/>"


def test_a_run_cannot_be_copied_onto_itself(store: FolderLayerStore) -> None:
    with pytest.raises(WorkspaceError, match="onto itself"):
        copy_run(store, RUN, RUN)


def test_discarding_a_run_deletes_its_layers_and_no_others(run: Run, tmp_path: Path) -> None:
    for job in ("clone", "build"):
        task = run.start(job)
        write_tree(task / "workspace", {f"{job}.txt": job})
        run.end(task, job)
    other = Run(tmp_path / "other", run.store, run_id="20261125-190000-ffffffff", times=run.times)
    task = other.start("clone")
    write_tree(task / "workspace", {"other.txt": "other"})
    other.end(task, "clone")
    assert discard_run(run.store, RUN) == 2
    assert run.store.keys(run_prefix(RUN)) == []
    assert len(run.store.keys(run_prefix(other.run_id))) == 1
