"""The layer format: what changed in a workspace folder since a snapshot, written as a layer,
and a layer laid over a folder. Pure: the standard library only, no S3.

A layer is a gzip'd tar whose first member, `.containerops-layer/deleted`, is JSON listing
the paths deleted since the snapshot (a deleted directory once: its tree goes with it); every
member after it is a new or changed file, directory or symlink, parents before children, a
file with its mode and its mtime to the nanosecond. The control member is recognised by its
place, so a job's own file of that name is just another entry. Applying extracts the entries
safely (`extraction`) and then removes the deleted paths. `snapshots` says what a change is.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
import tarfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from chalicelib.errors import WorkspaceError
from chalicelib.workspace.extraction import COPY_BUFFER, Placer, check_name, remove_path
from chalicelib.workspace.snapshots import (
    MODE_BITS,
    Entry,
    Kind,
    Snapshot,
    reason,
    snapshot,
    snapshot_from_json,
    snapshot_to_json,
    walk,
)

if TYPE_CHECKING:
    from _typeshed import SupportsRead, WriteableBuffer

__all__ = [
    "COMPRESSLEVEL", "CONTROL_MEMBER", "Entry", "Kind", "LayerSummary", "Readable", "Snapshot",
    "apply_layer", "hand_over", "remove_path", "snapshot", "snapshot_from_json", "snapshot_to_json",
    "write_layer",
]

CONTROL_MEMBER = ".containerops-layer/deleted"
LAYER_FORMAT = 1
# Level 1: on a CI workspace (source text, git objects, binaries) level 3 saves 4% of the bytes
# for 12% more time, level 6 9% for twice the time (bench/workspace.py prints all three).
COMPRESSLEVEL = 1
_NS = 1_000_000_000


class Readable(Protocol):
    """What a layer is read from: a file, or S3's streaming body."""

    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class LayerSummary:
    """`files`: entries written or applied (regular files, directories and symlinks, as `ls`
    counts them); `bytes`: the files' contents; `deleted`: the paths the layer deletes (a
    deleted directory counts once: its tree goes with it)."""

    files: int
    bytes: int
    deleted: int


# --- writing a layer ------------------------------------------------------------------------

def write_layer(root: Path, before: Snapshot, out: BinaryIO, *,
                compresslevel: int = COMPRESSLEVEL) -> LayerSummary | None:
    """Write to `out` a layer of what changed under `root` since `before`; None, and nothing
    written, when nothing changed. File contents are streamed, never held whole."""
    now = snapshot(root)
    deleted = _topmost(path for path in before if path not in now)
    changed = sorted(path for path, entry in now.items() if before.get(path) != entry)
    if not deleted and not changed:
        return None
    written = 0
    try:
        with gzip.GzipFile(filename="", fileobj=out, mode="wb", compresslevel=compresslevel,
                           mtime=0) as compressed, \
                _Archive(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar:
            _add_control(tar, deleted)
            for path in changed:
                written += _add_entry(tar, root, path, now[path])
    except OSError as exc:
        raise WorkspaceError(f"could not write the layer: {reason(exc)}") from exc
    return LayerSummary(files=len(changed), bytes=written, deleted=len(deleted))


def _topmost(paths: Iterable[str]) -> list[str]:
    """The paths not under another of them, sorted: a deleted directory carries its tree."""
    gone = set(paths)

    def under_another(path: str) -> bool:
        head = path.rpartition("/")[0]
        while head:
            if head in gone:
                return True
            head = head.rpartition("/")[0]
        return False

    return sorted(path for path in gone if not under_another(path))


def _add_control(tar: tarfile.TarFile, deleted: list[str]) -> None:
    text = json.dumps({"format": LAYER_FORMAT, "deleted": deleted}, separators=(",", ":")).encode()
    info = tarfile.TarInfo(CONTROL_MEMBER)
    info.size, info.mode = len(text), 0o644
    tar.addfile(info, _BytesReader(text))


def _add_entry(tar: tarfile.TarFile, root: Path, path: str, entry: Entry) -> int:
    """Add one entry; return the bytes of content added."""
    info = tarfile.TarInfo(path)
    info.mode = entry.mode
    if entry.kind is Kind.DIR:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
        return 0
    if entry.kind is Kind.SYMLINK:
        info.type, info.linkname = tarfile.SYMTYPE, entry.link
        tar.addfile(info)
        return 0
    full = os.path.join(root, path)
    try:
        descriptor = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise WorkspaceError(f"cannot read {path}: {reason(exc)}") from exc
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise WorkspaceError(f"{path} stopped being a regular file while it was saved")
        # What is written is what is read now: the size and mtime of the open file.
        info.size, info.mode = status.st_size, status.st_mode & MODE_BITS
        info.mtime = status.st_mtime_ns // _NS
        info.pax_headers = {"mtime": _pax_time(status.st_mtime_ns)}
        try:
            tar.addfile(info, handle)
        except OSError as exc:  # read errors, and a file that shrank while it was read
            raise WorkspaceError(f"could not save {path}: {reason(exc)}") from exc
    return info.size


def _pax_time(ns: int) -> str:
    """A time in nanoseconds as pax writes it, exactly (a float would round it)."""
    seconds, fraction = divmod(abs(ns), _NS)
    return f"{'-' if ns < 0 else ''}{seconds}.{fraction:09d}"


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._data, self._at = data, 0

    def read(self, size: int = -1, /) -> bytes:
        end = len(self._data) if size < 0 else self._at + size
        chunk, self._at = self._data[self._at:end], min(end, len(self._data))
        return chunk


# --- applying a layer -----------------------------------------------------------------------

def apply_layer(root: Path, layer: Readable) -> LayerSummary:
    """Lay `layer` over `root`: its entries are extracted (refusing anything unsafe, with a
    WorkspaceError naming the member), then the paths it deleted are removed (a directory
    with its tree; a path already missing is fine)."""
    placer = Placer(root)
    applied = 0
    try:
        with gzip.GzipFile(fileobj=_RawReader(layer), mode="rb") as compressed:
            with _Archive.open(fileobj=compressed, mode="r|", bufsize=COPY_BUFFER) as tar:
                deleted = _read_control(tar, tar.next())
                while (member := tar.next()) is not None:
                    applied += placer.place(tar, member)
                placer.finish()
            # Read to the end so gzip checks the layer's length and CRC before anything is deleted.
            while compressed.read(COPY_BUFFER):
                pass
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise WorkspaceError(f"not a readable workspace layer: {exc}") from exc
    except OSError as exc:  # placing members turns its own errors into words: this is reading
        raise WorkspaceError(f"could not read the layer: {reason(exc)}") from exc
    for path in deleted:
        remove_path(root, path)
    return LayerSummary(files=placer.placed, bytes=applied, deleted=len(deleted))


class _Archive(tarfile.TarFile):
    """A TarFile that forgets the members it has read or written. tarfile keeps them all for
    random access, which a layer never needs: memory would grow with the workspace."""

    members: list[tarfile.TarInfo]

    def next(self) -> tarfile.TarInfo | None:
        member = super().next()
        self.members.clear()
        return member

    def addfile(self, tarinfo: tarfile.TarInfo, fileobj: SupportsRead[bytes] | None = None) -> None:
        super().addfile(tarinfo, fileobj)
        self.members.clear()


class _RawReader(io.RawIOBase):
    """A `Readable` (S3's body has no seek) as the raw stream gzip reads forward from."""

    def __init__(self, source: Readable) -> None:
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        data = self._source.read(len(view))
        view[:len(data)] = data
        return len(data)


def _read_control(tar: tarfile.TarFile, member: tarfile.TarInfo | None) -> list[str]:
    if member is None or member.name != CONTROL_MEMBER or not member.isreg():
        raise WorkspaceError(f"not a workspace layer: its first member is not {CONTROL_MEMBER}")
    handle = tar.extractfile(member)
    try:
        document = json.loads(handle.read() if handle else b"")
        deleted = document["deleted"]
        if document.get("format") != LAYER_FORMAT or not all(isinstance(p, str) for p in deleted):
            raise ValueError(f"format {document.get('format')!r} with {type(deleted).__name__}")
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise WorkspaceError(f"not a workspace layer: its list of deleted paths is unreadable ({exc})"
                             ) from exc
    for path in deleted:
        check_name(path, f"deleted path {path!r}")
    return list(deleted)


# --- ownership ------------------------------------------------------------------------------

def hand_over(root: Path, uid: int, gid: int, *, as_root: bool | None = None) -> int:
    """Make the restored workspace the job's: everything under `root` (and `root`) owned by
    `uid:gid`, and `root` open to everyone (0o777) like the local `Workspaces.prepare`, since
    the job's user may differ from the one the folder was made by. Ownership is only changed
    when running as root (`as_root`, by default the effective user); return the number of
    paths whose owner was set."""
    try:
        os.chmod(root, MODE_BITS)
        if not (os.geteuid() == 0 if as_root is None else as_root):
            return 0
        os.chown(root, uid, gid)
        count = 1
        for _relative, path, _status in walk(root):
            os.chown(path, uid, gid, follow_symlinks=False)
            count += 1
    except OSError as exc:
        raise WorkspaceError(f"could not hand the workspace over to {uid}:{gid}: {reason(exc)}") from exc
    return count


