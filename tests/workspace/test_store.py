"""The folder layer store (chalicelib/workspace/store.py): keys as files, with S3's meaning of
a prefix, writes that are whole or absent, copies and deletes by prefix."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from chalicelib.errors import WorkspaceError
from chalicelib.workspace.store import FolderLayerStore


@pytest.fixture
def store(tmp_path: Path) -> FolderLayerStore:
    return FolderLayerStore(tmp_path / "bucket")


def put(store: FolderLayerStore, key: str, data: bytes = b"layer") -> None:
    store.write(key, io.BytesIO(data), len(data))


def read(store: FolderLayerStore, key: str) -> bytes:
    with store.open_read(key) as body:
        return body.read()


def test_keys_are_listed_by_prefix_in_ascending_order(store: FolderLayerStore) -> None:
    for key in ("runs/r1/layers/002-b-1.tar.gz", "runs/r1/layers/001-a-1.tar.gz",
                "runs/r10/layers/001-a-1.tar.gz", "runs/r2/layers/001-a-1.tar.gz"):
        put(store, key)
    assert store.keys("runs/r1/") == ["runs/r1/layers/001-a-1.tar.gz", "runs/r1/layers/002-b-1.tar.gz"]
    assert store.keys("runs/r1") == ["runs/r1/layers/001-a-1.tar.gz", "runs/r1/layers/002-b-1.tar.gz",
                                     "runs/r10/layers/001-a-1.tar.gz"]
    assert store.keys("runs/none/") == []
    assert len(store.keys("")) == 4


def test_what_is_written_is_read_back_from_the_files_position(store: FolderLayerStore) -> None:
    source = io.BytesIO(b"skip:the layer")
    source.seek(5)
    store.write("runs/r1/layers/x.tar.gz", source)
    assert read(store, "runs/r1/layers/x.tar.gz") == b"the layer"


def test_a_write_that_fails_leaves_no_object_behind(store: FolderLayerStore, tmp_path: Path) -> None:
    class Failing(io.BytesIO):
        def read(self, size: int | None = -1, /) -> bytes:
            raise OSError(5, "Input/output error")

    with pytest.raises(WorkspaceError, match=re.escape("cannot write the layer runs/r1/layers/x.tar.gz")):
        store.write("runs/r1/layers/x.tar.gz", Failing())
    assert store.keys("") == []
    assert list((tmp_path / "bucket/runs/r1/layers").iterdir()) == []


def test_a_copy_keeps_the_source(store: FolderLayerStore) -> None:
    put(store, "runs/r1/layers/a.tar.gz", b"a")
    store.copy("runs/r1/layers/a.tar.gz", "runs/r2/layers/a.tar.gz")
    assert read(store, "runs/r2/layers/a.tar.gz") == read(store, "runs/r1/layers/a.tar.gz") == b"a"


def test_deleting_a_prefix_removes_only_what_is_under_it(store: FolderLayerStore) -> None:
    for key in ("runs/r1/layers/a.tar.gz", "runs/r1/layers/b.tar.gz", "runs/r2/layers/a.tar.gz"):
        put(store, key)
    assert store.delete_prefix("runs/r1/") == 2
    assert store.keys("") == ["runs/r2/layers/a.tar.gz"]


def test_a_missing_key_is_a_workspace_error_naming_it(store: FolderLayerStore) -> None:
    with pytest.raises(WorkspaceError, match=re.escape("there is no layer runs/r1/layers/gone.tar.gz")):
        read(store, "runs/r1/layers/gone.tar.gz")


@pytest.mark.parametrize("key", ["/etc/passwd", "runs/../../escape", "runs//double", "runs/./here"])
def test_a_key_that_is_not_a_plain_path_is_refused(store: FolderLayerStore, key: str) -> None:
    with pytest.raises(WorkspaceError, match="not a layer key"):
        put(store, key)
