"""Members of a layer put safely in place under a root, and deleted paths removed.

Refused, with a WorkspaceError naming the member, is whatever could reach outside the root
or is not plain data: absolute names, `..`, hard links, devices, fifos, and members under a
symlink that leads out of the root. These are the checks of tarfile's `data` filter plus
`..` and hard links; the filter itself is not run, because three of its rules are wrong for
a workspace: it refuses symlinks with absolute targets (every Python virtualenv has
`bin/python -> /usr/bin/python3`, which the local workspace keeps), it judges a member
through a symlink already at the member's own path (so a layer replacing such a symlink by a
file would be refused), and it drops directory modes and group/other write bits. Symlinks
are restored as symlinks and never followed, except a parent that stays inside the root (two
parallel jobs: one replaced a directory by a link within the workspace, the other wrote into
it). A path of another kind in the way is replaced: a later layer wins.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
from pathlib import Path

from chalicelib.errors import WorkspaceError
from chalicelib.workspace.snapshots import MODE_BITS, reason

COPY_BUFFER = 64 << 10  # bigger buffers are copied more by tarfile and gzip, and are no faster
_NS = 1_000_000_000


def check_name(name: str, what: str) -> list[str]:
    """The parts of a relative POSIX path; refuse anything else."""
    if name.startswith("/"):
        raise WorkspaceError(f"refused {what}: an absolute path")
    parts = name.split("/")
    if ".." in parts:
        raise WorkspaceError(f"refused {what}: '..' leads out of the workspace")
    if any(part in ("", ".") for part in parts):
        raise WorkspaceError(f"refused {what}: not a plain relative path")
    return parts


def _refusal(member: tarfile.TarInfo) -> str | None:
    """Why a member's kind cannot be restored, in words; None when it can."""
    if member.isreg() or member.isdir() or member.issym():
        return None
    if member.islnk():
        return f"a hard link (to {member.linkname!r})"
    if member.ischr() or member.isblk():
        return "a device"
    if member.isfifo():
        return "a fifo"
    return f"an unsupported tar member type {member.type!r}"


class Placer:
    """Puts members in place under one root, remembering the parent directories it has
    already checked (forgotten when a directory or symlink that may be one is replaced)."""

    def __init__(self, root: Path) -> None:
        self._root = os.fspath(root)
        self._real_root = os.path.realpath(root)
        self._checked: dict[str, str] = {"": self._root}
        self._directory_modes: list[tuple[str, int]] = []
        self.placed = 0

    def place(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> int:
        """Put `member` in place; return the bytes of content written."""
        what = f"member {member.name!r}"
        parts = check_name(member.name, what)
        refusal = _refusal(member)
        if refusal:
            raise WorkspaceError(f"refused {what}: {refusal}")
        try:
            written = self._place(tar, member, parts, what)
        except OSError as exc:
            raise WorkspaceError(f"could not restore {what}: {reason(exc)}") from exc
        self.placed += 1
        return written

    def finish(self) -> None:
        try:
            for path, mode in reversed(self._directory_modes):
                os.chmod(path, mode)
        except OSError as exc:
            raise WorkspaceError(f"could not set a directory's mode: {reason(exc)}") from exc

    def _place(self, tar: tarfile.TarFile, member: tarfile.TarInfo, parts: list[str], what: str) -> int:
        parent = self._parent("/".join(parts[:-1]), what)
        target = os.path.join(parent, parts[-1])
        mode = member.mode & MODE_BITS
        existing = _lstat(target)
        written = 0
        if member.isdir():
            if existing is None or not stat.S_ISDIR(existing.st_mode):
                self._clear(target, existing)
                os.mkdir(target, 0o700)
            # Set last, children first, as tarfile does: a read-only directory still gets its files.
            self._directory_modes.append((target, mode))
        else:
            self._clear(target, existing)
            if member.issym():
                os.symlink(member.linkname, target)
            else:
                written = self._write_file(tar, member, target, mode)
        return written

    def _parent(self, relative: str, what: str) -> str:
        """The real path of the directory `relative` (made when missing), checked to lie in
        the root."""
        known = self._checked.get(relative)
        if known is not None:
            return known
        head, _, name = relative.rpartition("/")
        path = os.path.join(self._parent(head, what), name)
        status = _lstat(path)
        if status is None:
            os.mkdir(path)
        elif stat.S_ISLNK(status.st_mode):
            path = self._through_symlink(path, relative, what)
        elif not stat.S_ISDIR(status.st_mode):
            # An earlier layer (a parallel job) left a file where this one had a directory:
            # the later layer's writes win, as for any path both wrote.
            os.unlink(path)
            os.mkdir(path)
        self._checked[relative] = path
        return path

    def _through_symlink(self, path: str, relative: str, what: str) -> str:
        real = os.path.realpath(path)
        if real != self._real_root and not real.startswith(self._real_root + os.sep):
            raise WorkspaceError(f"refused {what}: it is under the symlink {relative!r} -> "
                                 f"{os.readlink(path)!r}, which points out of the workspace")
        if not os.path.isdir(real):
            raise WorkspaceError(f"refused {what}: it is under the symlink {relative!r} -> "
                                 f"{os.readlink(path)!r}, which does not lead to a directory")
        return real

    def _clear(self, target: str, existing: os.stat_result | None) -> None:
        """Remove what is at `target` (never following it) so another kind can take its place."""
        if existing is None:
            return
        if stat.S_ISDIR(existing.st_mode):
            shutil.rmtree(target)
        else:
            os.unlink(target)
        if stat.S_ISDIR(existing.st_mode) or stat.S_ISLNK(existing.st_mode):
            self._checked = {"": self._root}  # a checked parent may have been under it

    @staticmethod
    def _write_file(tar: tarfile.TarFile, member: tarfile.TarInfo, target: str, mode: int) -> int:
        source = tar.extractfile(member)
        if source is None:
            raise WorkspaceError(f"member {member.name!r} has no contents")
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            shutil.copyfileobj(source, handle, COPY_BUFFER)
            handle.flush()
            os.chmod(descriptor, mode)
            mtime_ns = _time_ns(member)
            os.utime(descriptor, ns=(mtime_ns, mtime_ns))
        return member.size


def remove_path(root: Path, relative: str) -> bool:
    """Remove `relative` under `root` (a directory with its tree) without following any
    symlink: a path under a symlink is not the workspace's to remove. True when removed."""
    parts = check_name(relative, f"deleted path {relative!r}")
    path = os.fspath(root)
    try:
        for part in parts[:-1]:
            path = os.path.join(path, part)
            status = _lstat(path)
            if status is None or not stat.S_ISDIR(status.st_mode):
                return False  # gone already, or replaced by a file or symlink since
        path = os.path.join(path, parts[-1])
        status = _lstat(path)
        if status is None:
            return False
        if stat.S_ISDIR(status.st_mode):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    except OSError as exc:
        raise WorkspaceError(f"could not delete {relative}: {reason(exc)}") from exc
    return True


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _time_ns(member: tarfile.TarInfo) -> int:
    text = member.pax_headers.get("mtime")
    if text is None:
        return int(member.mtime) * _NS
    negative = text.startswith("-")
    whole, _, fraction = text.lstrip("-").partition(".")
    ns = int(whole or "0") * _NS + int((fraction + "000000000")[:9])
    return -ns if negative else ns
