"""Helpers for the workspace tests: trees written as a job would write them, read back as
{path: content}, and layers crafted by hand the way a hostile or broken one would look."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from pathlib import Path

from chalicelib.workspace.layers import CONTROL_MEMBER, Snapshot, apply_layer, write_layer


def write_tree(root: Path, files: dict[str, str]) -> None:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def tree(root: Path) -> dict[str, str]:
    """Every path under `root`: a file's content, "<dir>", or "-> target" for a symlink."""
    found: dict[str, str] = {}
    for directory, folders, files in os.walk(root):
        for name in folders + files:
            path = Path(directory, name)
            relative = path.relative_to(root).as_posix()
            if path.is_symlink():
                found[relative] = f"-> {os.readlink(path)}"
            elif path.is_dir():
                found[relative] = "<dir>"
            else:
                found[relative] = path.read_text()
    return found


def layer_of(root: Path, before: Snapshot | None = None) -> bytes:
    """The layer of `root`'s changes since `before` (a snapshot; everything when None)."""
    out = io.BytesIO()
    summary = write_layer(root, before or {}, out)
    assert summary is not None, "the tree changed, so a layer is written"
    return out.getvalue()


def copied(source: Path, destination: Path) -> Path:
    """`source`'s tree laid into `destination` through a layer, as a later job sees it."""
    destination.mkdir(parents=True, exist_ok=True)
    apply_layer(destination, io.BytesIO(layer_of(source)))
    return destination


def crafted(*members: tuple[tarfile.TarInfo, bytes], deleted: list[str] | None = None,
            control: bool = True) -> io.BytesIO:
    """A layer written by hand: the control member (unless `control` is False), then `members`."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb") as compressed, \
            tarfile.open(fileobj=compressed, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        if control:
            text = json.dumps({"format": 1, "deleted": deleted or []}).encode()
            add(tar, file_member(CONTROL_MEMBER, text), text)
        for member, data in members:
            add(tar, member, data)
    out.seek(0)
    return out


def add(tar: tarfile.TarFile, member: tarfile.TarInfo, data: bytes) -> None:
    tar.addfile(member, io.BytesIO(data) if member.isreg() else None)


def file_member(name: str, data: bytes = b"") -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.size = len(data)
    return member


def typed_member(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.linkname = kind, linkname
    return member
