"""Where a run's layers are kept: the port (`LayerStore`), with S3's as the real one
(chalicelib/aws/workspace_layers.py) and a folder's for tests and the benchmark.

A store holds objects by key, as S3 does: `keys` lists those starting with a prefix
(ascending, the order layers are applied in), a write replaces an object whole and at once
(a reader never sees half of one), a copy keeps the source, and deleting a prefix removes
every object under it. Every failure is a WorkspaceError saying which key and why.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, BinaryIO

from chalicelib.errors import WorkspaceError
from chalicelib.workspace.layers import Readable
from chalicelib.workspace.snapshots import reason

COPY_BUFFER = 1 << 20
_PARTIAL = ".partial-"  # a file being written, not yet a key


class LayerStore(ABC):
    @abstractmethod
    def keys(self, prefix: str) -> list[str]:
        """Every key that starts with `prefix`, sorted ascending."""

    @abstractmethod
    def open_read(self, key: str) -> AbstractContextManager[Readable]:
        """The object at `key`, to read from start to end (not seekable)."""

    @abstractmethod
    def write(self, key: str, file: BinaryIO, size: int | None = None) -> None:
        """Store what `file` holds from its current position to its end at `key`; `size`, when
        known, is that length in bytes."""

    @abstractmethod
    def copy(self, source: str, destination: str) -> None:
        """Copy the object at `source` to `destination`, within the store."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Delete every object whose key starts with `prefix`; return how many."""


class FolderLayerStore(LayerStore):
    """Objects as files under `root`, a key's `/` as directories."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def keys(self, prefix: str) -> list[str]:
        # Only the folder that holds the prefix's last complete directory can hold its keys.
        folder, _, _ = prefix.rpartition("/")
        start = self._path(folder) if folder else self._root
        if not start.is_dir():
            return []
        found = []
        for directory, _folders, files in os.walk(start):
            for name in files:
                key = Path(directory, name).relative_to(self._root).as_posix()
                if key.startswith(prefix) and not name.startswith(_PARTIAL):
                    found.append(key)
        return sorted(found)

    def open_read(self, key: str) -> AbstractContextManager[Readable]:
        return self._opened(key)

    @contextmanager
    def _opened(self, key: str) -> Iterator[Readable]:
        try:
            handle = self._path(key).open("rb")
        except FileNotFoundError as exc:
            raise WorkspaceError(f"there is no layer {key} in {self._root}") from exc
        except OSError as exc:
            raise WorkspaceError(f"cannot read the layer {key}: {reason(exc)}") from exc
        with handle:
            yield handle

    def write(self, key: str, file: BinaryIO, size: int | None = None) -> None:
        self._replace(key, lambda out: shutil.copyfileobj(file, out, COPY_BUFFER))

    def copy(self, source: str, destination: str) -> None:
        with self.open_read(source) as body:
            self._replace(destination, lambda out: shutil.copyfileobj(body, out, COPY_BUFFER))

    def delete_prefix(self, prefix: str) -> int:
        keys = self.keys(prefix)
        try:
            for key in keys:
                self._path(key).unlink()
        except OSError as exc:
            raise WorkspaceError(f"cannot delete the layers under {prefix}: {reason(exc)}") from exc
        return len(keys)

    def _replace(self, key: str, fill: Callable[[IO[bytes]], object]) -> None:
        """Fill a partial file beside the key's, then rename it over the key: all or nothing."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, prefix=_PARTIAL, delete=False) as out:
                try:
                    fill(out)
                except BaseException:
                    os.unlink(out.name)
                    raise
            os.replace(out.name, path)
        except OSError as exc:
            raise WorkspaceError(f"cannot write the layer {key}: {reason(exc)}") from exc

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if key.startswith("/") or any(part in ("", ".", "..") for part in parts):
            raise WorkspaceError(f"not a layer key: {key!r}")
        return self._root.joinpath(*parts)
