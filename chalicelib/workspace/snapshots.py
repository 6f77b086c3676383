"""What a workspace folder holds, as a snapshot: for every path under the root (never
following a symlink), what a change to it is judged by: a file's size, mtime and mode, a
directory's mode, a symlink's target. Fifos, sockets and devices are not part of a workspace
and are left out. Modes keep their permission bits (0o777); setuid, setgid and sticky bits
are dropped, as tarfile's data filter drops them. A snapshot is saved between the restore and
the save sidecars as compact JSON.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from chalicelib.errors import WorkspaceError

SNAPSHOT_FORMAT = 1
MODE_BITS = 0o777


class Kind(StrEnum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"


@dataclass(frozen=True, slots=True)
class Entry:
    """One path of a snapshot. Only what a change is judged by is kept: a directory's size
    and mtime and a symlink's mode are 0, so two entries are equal exactly when unchanged."""

    kind: Kind
    size: int = 0
    mtime_ns: int = 0
    mode: int = 0
    link: str = ""


Snapshot = dict[str, Entry]


def snapshot(root: Path) -> Snapshot:
    """Every file, directory and symlink under `root`, keyed by its POSIX relative path."""
    found: Snapshot = {}
    for relative, path, status in walk(root):
        mode = status.st_mode
        if stat.S_ISREG(mode):
            found[relative] = Entry(Kind.FILE, status.st_size, status.st_mtime_ns, mode & MODE_BITS)
        elif stat.S_ISDIR(mode):
            found[relative] = Entry(Kind.DIR, mode=mode & MODE_BITS)
        elif stat.S_ISLNK(mode):
            found[relative] = Entry(Kind.SYMLINK, link=_read_link(path))
    return found


def walk(root: Path) -> Iterator[tuple[str, str, os.stat_result]]:
    """(relative path, path, lstat) of everything under `root`, parents before children;
    symlinks are not followed."""
    pending = [("", os.fspath(root))]
    while pending:
        prefix, directory = pending.pop()
        try:
            with os.scandir(directory) as items:
                for item in items:
                    relative = prefix + item.name
                    status = item.stat(follow_symlinks=False)
                    yield relative, item.path, status
                    if stat.S_ISDIR(status.st_mode):
                        pending.append((relative + "/", item.path))
        except OSError as exc:
            raise WorkspaceError(f"cannot read the workspace folder {directory}: {reason(exc)}") from exc


def _read_link(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError as exc:
        raise WorkspaceError(f"cannot read the symlink {path}: {reason(exc)}") from exc


_KIND_CODES = {Kind.FILE: "f", Kind.DIR: "d", Kind.SYMLINK: "l"}
_CODE_KINDS = {code: kind for kind, code in _KIND_CODES.items()}


def snapshot_to_json(taken: Snapshot) -> str:
    """Compact: a file is ["f", size, mtime_ns, mode], a directory ["d", mode], a symlink
    ["l", target]."""
    entries: dict[str, list[object]] = {}
    for path, entry in taken.items():
        if entry.kind is Kind.FILE:
            entries[path] = ["f", entry.size, entry.mtime_ns, entry.mode]
        elif entry.kind is Kind.DIR:
            entries[path] = ["d", entry.mode]
        else:
            entries[path] = ["l", entry.link]
    return json.dumps({"format": SNAPSHOT_FORMAT, "entries": entries}, separators=(",", ":"))


def snapshot_from_json(text: str) -> Snapshot:
    try:
        document = json.loads(text)
        if document.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"format {document.get('format')!r}, not {SNAPSHOT_FORMAT}")
        return {path: _entry_from_json(value) for path, value in document["entries"].items()}
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise WorkspaceError(f"not a workspace snapshot: {exc}") from exc


def _entry_from_json(value: list[object]) -> Entry:
    kind = _CODE_KINDS[str(value[0])]
    if kind is Kind.FILE:
        size, mtime_ns, mode = (_integer(item) for item in value[1:4])
        return Entry(kind, size, mtime_ns, mode)
    if kind is Kind.DIR:
        return Entry(kind, mode=_integer(value[1]))
    return Entry(kind, link=str(value[1]))


def _integer(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{value!r} is not an integer")
    return value


def reason(exc: OSError) -> str:
    """An OSError in words, with the path it was about."""
    words = exc.strerror or str(exc)
    return f"{words} ({exc.filename})" if exc.filename else words
