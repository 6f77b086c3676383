"""The runs' workspaces on the cloud path: files the server adds are a layer like a job's."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from chalicelib.cloud.run_workspaces import LayeredRunWorkspaces
from chalicelib.engine.aggregate import ListFiles
from chalicelib.workspace.store import FolderLayerStore
from chalicelib.workspace.sync import layers_prefix, restore


def write_count(files: ListFiles) -> str:
    with files.open(".containerops/fanout/test/COUNT.json") as stream:
        stream.write('["1","2"]')
    return "written"


def test_added_files_are_one_layer_that_a_later_restore_applies(tmp_path: Path) -> None:
    layers = FolderLayerStore(tmp_path / "bucket")
    assert LayeredRunWorkspaces(layers).add_files("run-1", "test", write_count) == "written"

    keys = layers.keys(layers_prefix("run-1"))
    assert len(keys) == 1 and keys[0].endswith("-test-1.tar.gz")
    restored = tmp_path / "workspace"
    restore(layers, "run-1", restored, tmp_path / "state.json", owner=None)
    listed = restored / ".containerops/fanout/test/COUNT.json"
    assert listed.read_text() == '["1","2"]'
    assert stat.S_IMODE(listed.stat().st_mode) == 0o666


def test_no_files_written_adds_no_layer(tmp_path: Path) -> None:
    layers = FolderLayerStore(tmp_path / "bucket")
    LayeredRunWorkspaces(layers).add_files("run-1", "test", lambda files: None)
    assert layers.keys(layers_prefix("run-1")) == []


def test_a_write_that_fails_adds_nothing(tmp_path: Path) -> None:
    layers = FolderLayerStore(tmp_path / "bucket")

    def half_written(files: ListFiles) -> None:
        write_count(files)
        raise RuntimeError("the store's page could not be read")

    with pytest.raises(RuntimeError):
        LayeredRunWorkspaces(layers).add_files("run-1", "test", half_written)
    assert layers.keys(layers_prefix("run-1")) == []
