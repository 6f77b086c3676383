"""The workspace sidecars' entry point (chalicelib/workspace/sidecar.py), run in-process on a
folder store as the sandbox runs it: what each step prints, and the exit codes a task's
container dependencies act on."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.errors import WorkspaceError
from chalicelib.workspace.sidecar import BAD_CONFIGURATION, FAILED, OK, main
from chalicelib.workspace.store import FolderLayerStore, LayerStore
from chalicelib.workspace.sync import layer_key
from tests.workspace.trees import tree, write_tree

RUN = "20261125-173005-4f9a1c2e"
BUCKET = "containerops-workspaces"
REPOSITORY = Path(__file__).resolve().parents[2]
SECONDS = r"\d+\.\d\d s"


class Task:
    """The sidecars of one task: its own volume and state folder, the run's shared store."""

    def __init__(self, tmp_path: Path, job: str, store: LayerStore) -> None:
        self.workspace = tmp_path / job / "workspace"
        self.state_file = tmp_path / job / "containerops/workspace-snapshot.json"
        self.environment = {
            "CO_WORKSPACE_BUCKET": BUCKET, "CO_RUN_ID": RUN, "CO_JOB": job, "CO_ATTEMPT": "1",
            "CO_WORKSPACE_DIR": str(self.workspace), "CO_WORKSPACE_STATE": str(self.state_file),
            "CO_WORKSPACE_OWNER": f"{os.getuid()}:{os.getgid()}",
        }
        self.store = store
        self.buckets: list[str] = []

    def run(self, *argv: str, unset: tuple[str, ...] = (),
            changes: dict[str, str] | None = None) -> tuple[int, list[str]]:
        environment = {name: value for name, value in {**self.environment, **(changes or {})}.items()
                       if name not in unset}
        out = io.StringIO()

        def store_for(bucket: str) -> LayerStore:
            self.buckets.append(bucket)
            return self.store

        code = main(list(argv), environment, store_for, out, clock_ns=lambda: 1_000)
        return code, out.getvalue().splitlines()


@pytest.fixture
def store(tmp_path: Path) -> FolderLayerStore:
    return FolderLayerStore(tmp_path / "bucket")


def matches(pattern: str, line: str) -> bool:
    return re.fullmatch(pattern, line) is not None


def test_restore_then_save_carry_a_jobs_files_to_the_next_task(
        tmp_path: Path, store: FolderLayerStore) -> None:
    clone = Task(tmp_path, "clone", store)
    code, [line] = clone.run("restore")
    assert code == OK and matches(rf"nothing to restore: no job of run {RUN} has saved a layer yet, "
                                  rf"{re.escape(str(clone.workspace))} starts empty \({SECONDS}\)", line)
    write_tree(clone.workspace, {"repo/app.py": "x" * 1_500, "repo/README.md": "# app\n"})
    code, [line] = clone.run("save")
    key = layer_key(RUN, "clone", 1, 1_000)
    assert code == OK and matches(rf"saved 3 files, 1\.5 kB as {key} \(\d+ B compressed\) in {SECONDS}", line)
    assert clone.buckets == [BUCKET, BUCKET]

    build = Task(tmp_path, "build", store)
    code, lines = build.run("restore")
    assert code == OK and lines[0] == f"applied {key.rpartition('/')[2]}: 3 files, 1.5 kB"
    assert matches(rf"restored 1 layer: 3 files, 1\.5 kB in {SECONDS}", lines[1])
    assert tree(build.workspace)["repo/README.md"] == "# app\n"


def test_a_save_that_finds_nothing_changed_says_so_and_uploads_nothing(
        tmp_path: Path, store: FolderLayerStore) -> None:
    lint = Task(tmp_path, "lint", store)
    lint.run("restore")
    code, [line] = lint.run("save")
    assert code == OK and matches(rf"nothing to save: lint changed nothing in "
                                  rf"{re.escape(str(lint.workspace))} \({SECONDS}\)", line)
    assert store.keys("") == []


def test_a_save_without_restores_snapshot_says_everything_counted_as_new(
        tmp_path: Path, store: FolderLayerStore) -> None:
    task = Task(tmp_path, "build", store)
    write_tree(task.workspace, {"out.bin": "o"})
    code, lines = task.run("save")
    assert code == OK
    assert lines[0] == (f"no snapshot from restore at {task.state_file}: everything in {task.workspace} "
                        "counted as new")
    assert lines[1].startswith("saved 1 file, 1 B as ")


def test_a_deletion_is_counted_in_the_save_line(tmp_path: Path, store: FolderLayerStore) -> None:
    first = Task(tmp_path, "build", store)
    first.run("restore")
    write_tree(first.workspace, {"tmp/a": "a", "keep": "k"})
    first.run("save")
    second = Task(tmp_path, "clean", store)
    second.run("restore")
    (second.workspace / "tmp/a").unlink()
    (second.workspace / "tmp").rmdir()
    code, [line] = second.run("save")
    assert code == OK and line.startswith("saved 0 files, 0 B, 1 deleted as ")


@pytest.mark.parametrize(("command", "unset", "named"), [
    ("restore", "CO_WORKSPACE_BUCKET", "CO_WORKSPACE_BUCKET is not set"),
    ("restore", "CO_RUN_ID", "CO_RUN_ID is not set"),
    ("save", "CO_JOB", "CO_JOB is not set"),
    ("save", "CO_ATTEMPT", "CO_ATTEMPT is not set"),
])
def test_a_missing_variable_exits_2_naming_it(tmp_path: Path, store: FolderLayerStore,
                                              command: str, unset: str, named: str) -> None:
    code, [line] = Task(tmp_path, "build", store).run(command, unset=(unset,))
    assert code == BAD_CONFIGURATION
    assert line.startswith(f"workspace error: {named} (")


def test_restore_needs_no_job_or_attempt(tmp_path: Path, store: FolderLayerStore) -> None:
    code, _lines = Task(tmp_path, "build", store).run("restore", unset=("CO_JOB", "CO_ATTEMPT"))
    assert code == OK


@pytest.mark.parametrize(("changes", "words"), [
    ({"CO_ATTEMPT": "first"}, "CO_ATTEMPT is 'first', not an attempt number from 1"),
    ({"CO_ATTEMPT": "0"}, "CO_ATTEMPT is '0', not an attempt number from 1"),
    ({"CO_WORKSPACE_OWNER": "builder"}, "CO_WORKSPACE_OWNER is 'builder', not uid:gid in numbers"),
    ({"CO_RUN_ID": "runs/../x"}, "CO_RUN_ID: run id 'runs/../x' is not letters, digits"),
    ({"CO_JOB": "a job"}, "CO_JOB: job 'a job' is not letters, digits"),
])
def test_a_malformed_variable_exits_2_saying_what_is_wrong(tmp_path: Path, store: FolderLayerStore,
                                                          changes: dict[str, str], words: str) -> None:
    code, [line] = Task(tmp_path, "build", store).run("save", changes=changes)
    assert code == BAD_CONFIGURATION and line.startswith(f"workspace error: {words}")


@pytest.mark.parametrize("argv", [(), ("backup",), ("restore", "save")])
def test_a_command_other_than_restore_or_save_exits_2_with_the_usage(
        tmp_path: Path, store: FolderLayerStore, argv: tuple[str, ...]) -> None:
    code, [line] = Task(tmp_path, "build", store).run(*argv)
    assert code == BAD_CONFIGURATION
    assert "python -m chalicelib.workspace.sidecar restore|save" in line


def test_a_broken_layer_exits_1_with_the_reason_in_words(tmp_path: Path, store: FolderLayerStore) -> None:
    key = layer_key(RUN, "clone", 1, 5)
    store.write(key, io.BytesIO(b"garbage"))
    code, [line] = Task(tmp_path, "build", store).run("restore")
    assert code == FAILED
    assert line.startswith(f"workspace error: layer {key}: not a readable workspace layer")


def test_a_store_that_cannot_be_made_exits_1(tmp_path: Path) -> None:
    def unreachable(bucket: str) -> LayerStore:
        raise WorkspaceError(f"cannot make an S3 client for {bucket}: no region")

    environment = Task(tmp_path, "build", FolderLayerStore(tmp_path)).environment
    out = io.StringIO()
    assert main(["restore"], environment, unreachable, out) == FAILED
    assert out.getvalue() == f"workspace error: cannot make an S3 client for {BUCKET}: no region\n"


def test_the_module_runs_as_a_program_and_imports_boto3_only_for_the_s3_store() -> None:
    program = ("import runpy, sys; sys.argv = ['sidecar', 'restore']\n"
               "try:\n    runpy.run_module('chalicelib.workspace.sidecar', run_name='__main__')\n"
               "except SystemExit as end:\n    print('boto3' in sys.modules, end.code)")
    environment = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPOSITORY)}
    finished = subprocess.run([sys.executable, "-c", program], env=environment, cwd=REPOSITORY,
                              capture_output=True, text=True, timeout=60, check=False)
    assert finished.stdout.splitlines() == [
        "workspace error: CO_RUN_ID is not set (the run whose workspace this is)", "False 2"]
