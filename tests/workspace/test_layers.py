"""The layer format (chalicelib/workspace/layers.py): a folder's snapshot, what changed since it
written as a layer, and a layer laid over another folder, safely, on real files."""

from __future__ import annotations

import io
import os
import re
import socket
import stat
import tarfile
import tracemalloc
from pathlib import Path

import pytest

from chalicelib.errors import WorkspaceError
from chalicelib.workspace.layers import (
    CONTROL_MEMBER,
    Entry,
    Kind,
    LayerSummary,
    apply_layer,
    hand_over,
    snapshot,
    snapshot_from_json,
    snapshot_to_json,
    write_layer,
)
from tests.workspace.trees import copied, crafted, file_member, layer_of, tree, typed_member, write_tree

MB = 1_000_000


@pytest.fixture
def job(tmp_path: Path) -> Path:
    """The folder a job writes in."""
    (tmp_path / "job").mkdir()
    return tmp_path / "job"


@pytest.fixture
def later(tmp_path: Path) -> Path:
    """The folder a later job restores into."""
    (tmp_path / "later").mkdir()
    return tmp_path / "later"


def apply(root: Path, layer: bytes | io.BytesIO) -> LayerSummary:
    return apply_layer(root, io.BytesIO(layer) if isinstance(layer, bytes) else layer)


# --- snapshots ------------------------------------------------------------------------------

def test_a_snapshot_holds_files_directories_and_symlinks_without_following_them(job: Path) -> None:
    write_tree(job, {"src/main.py": "print('hi')\n", "src/lib/util.py": ""})
    (job / "src/main.py").chmod(0o755)
    (job / "outside").symlink_to("/usr")
    taken = snapshot(job)
    assert set(taken) == {"src", "src/main.py", "src/lib", "src/lib/util.py", "outside"}
    assert taken["src/main.py"].kind is Kind.FILE
    assert (taken["src/main.py"].size, taken["src/main.py"].mode) == (12, 0o755)
    assert taken["src/main.py"].mtime_ns == os.stat(job / "src/main.py").st_mtime_ns
    assert taken["src/lib"] == Entry(Kind.DIR, mode=stat.S_IMODE(os.stat(job / "src/lib").st_mode))
    assert taken["outside"] == Entry(Kind.SYMLINK, link="/usr")


def test_fifos_and_sockets_are_not_part_of_a_snapshot(job: Path) -> None:
    os.mkfifo(job / "pipe")
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(job / "socket"))
        (job / "kept").write_text("x")
        assert set(snapshot(job)) == {"kept"}


def test_a_snapshot_survives_its_json(job: Path) -> None:
    write_tree(job, {"a/b.txt": "b", "c.txt": "ccc"})
    (job / "link").symlink_to("a/b.txt")
    taken = snapshot(job)
    assert snapshot_from_json(snapshot_to_json(taken)) == taken


def test_text_that_is_not_a_snapshot_is_refused_in_words() -> None:
    with pytest.raises(WorkspaceError, match="not a workspace snapshot"):
        snapshot_from_json('{"format": 1, "entries": {"a": ["f", "big", 1, 420]}}')
    with pytest.raises(WorkspaceError, match="not a workspace snapshot"):
        snapshot_from_json("[]")


# --- writing --------------------------------------------------------------------------------

def test_a_job_that_changed_nothing_writes_no_layer(job: Path) -> None:
    write_tree(job, {"a.txt": "a"})
    out = io.BytesIO()
    assert write_layer(job, snapshot(job), out) is None
    assert out.getvalue() == b""


def test_a_layer_carries_a_tree_with_its_contents_modes_mtimes_and_symlinks(job: Path, later: Path) -> None:
    write_tree(job, {"repo/README.md": "# sample\n", "repo/bin/run.sh": "#!/bin/sh\necho run\n",
                     "repo/.git/HEAD": "ref: refs/heads/main\n"})
    (job / "repo/bin/run.sh").chmod(0o750)
    (job / "repo/bin").chmod(0o711)
    (job / "repo/venv/bin").mkdir(parents=True)
    (job / "repo/venv/bin/python").symlink_to("/usr/bin/python3")  # absolute, as every venv has
    (job / "repo/docs").symlink_to("README.md")
    os.utime(job / "repo/README.md", ns=(1_700_000_000_123_456_789, 1_700_000_000_123_456_789))
    summary = apply(later, layer_of(job))
    assert tree(later) == tree(job)
    assert snapshot(later) == snapshot(job)
    assert os.stat(later / "repo/README.md").st_mtime_ns == 1_700_000_000_123_456_789
    assert stat.S_IMODE(os.stat(later / "repo/bin").st_mode) == 0o711
    assert os.readlink(later / "repo/venv/bin/python") == "/usr/bin/python3"
    contents = "# sample\n" "#!/bin/sh\necho run\n" "ref: refs/heads/main\n"
    assert summary == LayerSummary(files=10, bytes=len(contents), deleted=0)


def test_a_layer_holds_only_what_changed_since_the_snapshot(job: Path) -> None:
    write_tree(job, {"src/a.py": "a", "src/b.py": "b", "docs/index.md": "docs"})
    before = snapshot(job)
    (job / "src/b.py").write_text("b, changed")
    (job / "src/c.py").write_text("c")
    (job / "docs").chmod(0o700)
    out = io.BytesIO()
    summary = write_layer(job, before, out)
    out.seek(0)
    with tarfile.open(fileobj=out, mode="r:gz") as tar:
        names = tar.getnames()
    assert names == [CONTROL_MEMBER, "docs", "src/b.py", "src/c.py"]  # src only gained a file
    assert summary == LayerSummary(files=3, bytes=len("b, changedc"), deleted=0)


def test_deleting_a_directory_lists_it_once_and_its_tree_goes_with_it(job: Path, later: Path) -> None:
    write_tree(job, {"build/obj/a.o": "a", "build/obj/b.o": "b", "build/out": "o", "src/a.c": "a"})
    copied(job, later)
    before = snapshot(job)
    for path in ("build/obj/a.o", "build/obj/b.o", "build/out"):
        (job / path).unlink()
    (job / "build/obj").rmdir()
    (job / "build").rmdir()
    (job / "src/a.c").unlink()
    summary = apply(later, layer_of(job, before))
    assert summary.deleted == 2
    assert tree(later) == {"src": "<dir>"}


def test_names_in_any_script_and_bytes_that_are_not_utf8_survive_a_layer(job: Path, later: Path) -> None:
    write_tree(job, {"naïve ✓/日本.txt": "unicode"})
    os.mkdir(os.path.join(os.fsencode(job), b"caf\xe9"))
    Path(os.fsdecode(os.path.join(os.fsencode(job), b"caf\xe9", b"\xff.bin"))).write_text("latin-1 bytes")
    taken = snapshot(job)
    assert snapshot_from_json(snapshot_to_json(taken)) == taken
    apply(later, layer_of(job))
    assert tree(later) == tree(job)
    assert sorted(os.listdir(os.fsencode(later))) == [b"caf\xe9", "naïve ✓".encode()]


def test_a_job_file_named_like_the_control_member_is_just_a_file(job: Path, later: Path) -> None:
    write_tree(job, {CONTROL_MEMBER: '["not", "a", "list"]', "kept.txt": "kept"})
    apply(later, layer_of(job))
    assert tree(later) == tree(job)


def test_a_large_file_is_streamed_not_held_in_memory(job: Path, later: Path, tmp_path: Path) -> None:
    size = 50 * 1024 * 1024
    with (job / "image.bin").open("wb") as handle:
        handle.write(os.urandom(1024 * 1024))  # a start that does not compress, then holes
        handle.truncate(size)
    tracemalloc.start()
    try:
        with (tmp_path / "layer.tar.gz").open("w+b") as layer:
            write_layer(job, {}, layer)
            writing_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.reset_peak()
            layer.seek(0)
            apply_layer(later, layer)
            applying_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert os.path.getsize(later / "image.bin") == size
    assert writing_peak < 2 * MB and applying_peak < 2 * MB, (writing_peak, applying_peak)


# --- applying -------------------------------------------------------------------------------

def test_a_file_replaced_by_a_directory_and_back_is_restored_each_time(job: Path, later: Path) -> None:
    write_tree(job, {"out": "a file first"})
    copied(job, later)
    before = snapshot(job)
    (job / "out").unlink()
    write_tree(job, {"out/part-1": "now a directory"})
    apply(later, layer_of(job, before))
    assert tree(later) == {"out": "<dir>", "out/part-1": "now a directory"}
    before = snapshot(job)
    (job / "out/part-1").unlink()
    (job / "out").rmdir()
    (job / "out").write_text("a file again")
    apply(later, layer_of(job, before))
    assert tree(later) == {"out": "a file again"}


def test_a_symlink_replaced_by_a_file_is_replaced_not_written_through(job: Path, later: Path,
                                                                      tmp_path: Path) -> None:
    target = tmp_path / "outside.txt"
    target.write_text("not the workspace's")
    (job / "python").symlink_to(target)
    copied(job, later)
    before = snapshot(job)
    (job / "python").unlink()
    (job / "python").write_text("a real file")
    apply(later, layer_of(job, before))
    assert tree(later) == {"python": "a real file"}
    assert target.read_text() == "not the workspace's"


def test_layers_of_two_parallel_jobs_keep_both_jobs_writes(job: Path, later: Path, tmp_path: Path) -> None:
    write_tree(job, {"src/app.py": "app"})
    other = copied(job, tmp_path / "other")
    copied(job, later)
    lint_before, test_before = snapshot(job), snapshot(other)
    write_tree(job, {"reports/lint.txt": "clean"})
    write_tree(other, {"reports/junit.xml": "<ok/>"})
    apply(later, layer_of(job, lint_before))
    apply(later, layer_of(other, test_before))
    assert tree(later) == {"src": "<dir>", "src/app.py": "app", "reports": "<dir>",
                           "reports/lint.txt": "clean", "reports/junit.xml": "<ok/>"}


def test_a_parallel_jobs_file_in_the_way_of_a_later_layers_directory_is_replaced(later: Path) -> None:
    write_tree(later, {"cache": "a file one job left"})
    apply(later, crafted((file_member("cache/entry", b"x"), b"x")))
    assert tree(later) == {"cache": "<dir>", "cache/entry": "x"}


def test_a_member_under_a_symlink_inside_the_workspace_is_written_through_it(later: Path) -> None:
    (later / "real").mkdir()
    (later / "alias").symlink_to("real")
    apply(later, crafted((file_member("alias/file", b"x"), b"x")))
    assert (later / "real/file").read_text() == "x"


def test_a_deleted_path_under_a_symlink_is_not_followed(job: Path, later: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write_tree(outside, {"x": "not the workspace's"})
    write_tree(job, {"dir/x": "x"})
    copied(job, later)
    before = snapshot(job)
    (job / "dir/x").unlink()
    (job / "dir").rmdir()
    (job / "dir").symlink_to(outside)
    apply(later, layer_of(job, before))
    assert os.readlink(later / "dir") == str(outside)
    assert (outside / "x").read_text() == "not the workspace's"


def test_a_deleted_path_already_missing_is_fine(later: Path) -> None:
    summary = apply(later, crafted(deleted=["never/was", "gone.txt"]))
    assert summary == LayerSummary(files=0, bytes=0, deleted=2)


@pytest.mark.parametrize(("member", "words"), [
    (file_member("/etc/cron.d/evil", b"x"), "an absolute path"),
    (file_member("../escaped", b"x"), "'..' leads out of the workspace"),
    (file_member("a/../../escaped", b"x"), "'..' leads out of the workspace"),
    (typed_member("hard", tarfile.LNKTYPE, "/etc/passwd"), "a hard link"),
    (typed_member("tty", tarfile.CHRTYPE), "a device"),
    (typed_member("disk", tarfile.BLKTYPE), "a device"),
    (typed_member("pipe", tarfile.FIFOTYPE), "a fifo"),
], ids=["absolute", "dot-dot", "inner-dot-dot", "hard-link", "char-device", "block-device", "fifo"])
def test_a_member_that_is_not_plain_workspace_data_is_refused_by_name(
        later: Path, member: tarfile.TarInfo, words: str) -> None:
    with pytest.raises(WorkspaceError, match="refused") as refused:
        apply(later, crafted((member, b"x" if member.isreg() else b"")))
    assert repr(member.name) in str(refused.value) and words in str(refused.value)
    assert not (later.parent / "escaped").exists()


def test_a_member_under_a_symlink_leading_out_of_the_workspace_is_refused(
        later: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    link = typed_member("etc", tarfile.SYMTYPE, str(outside))
    with pytest.raises(WorkspaceError, match="points out of the workspace") as refused:
        apply(later, crafted((link, b""), (file_member("etc/passwd", b"evil"), b"evil")))
    assert "'etc/passwd'" in str(refused.value)
    assert list(outside.iterdir()) == []


def test_a_symlink_out_of_the_workspace_left_by_an_earlier_layer_is_not_followed(
        later: Path, tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (later / "up").symlink_to("../outside")
    with pytest.raises(WorkspaceError, match=r"'up/evil'.*points out of the workspace"):
        apply(later, crafted((file_member("up/evil", b"x"), b"x")))
    assert list((tmp_path / "outside").iterdir()) == []


def test_a_deleted_path_that_leads_out_of_the_workspace_is_refused(later: Path) -> None:
    with pytest.raises(WorkspaceError, match=re.escape("'../victim'")):
        apply(later, crafted(deleted=["../victim"]))


@pytest.mark.parametrize(("layer", "words"), [
    (b"", "not a readable workspace layer"),
    (b"plain text, not gzip", "not a readable workspace layer"),
    (crafted(control=False).getvalue(), "its first member is not"),
    (crafted((file_member("a", b"abc"), b"abc")).getvalue()[:-12], "not a readable workspace layer"),
], ids=["empty", "not-gzip", "no-control-member", "truncated"])
def test_bytes_that_are_not_a_whole_layer_are_refused_in_words(later: Path, layer: bytes, words: str) -> None:
    with pytest.raises(WorkspaceError, match=words):
        apply(later, layer)


# --- ownership ------------------------------------------------------------------------------

def test_a_restored_workspace_is_handed_to_the_jobs_user_and_open_to_all(later: Path) -> None:
    write_tree(later, {"repo/file.txt": "x"})
    (later / "repo/link").symlink_to("/nowhere")
    later.chmod(0o700)
    running_as_root = os.geteuid() == 0
    handed = hand_over(later, 4321, 4322)
    assert stat.S_IMODE(os.stat(later).st_mode) == 0o777
    owners = {os.lstat(path).st_uid for path in (later, later / "repo", later / "repo/file.txt",
                                                  later / "repo/link")}
    assert (handed, owners) == ((4, {4321}) if running_as_root else (0, {os.geteuid()}))


def test_ownership_is_left_alone_when_not_running_as_root(later: Path) -> None:
    write_tree(later, {"file.txt": "x"})
    owner = os.stat(later / "file.txt").st_uid
    assert hand_over(later, 4321, 4322, as_root=False) == 0
    assert os.stat(later / "file.txt").st_uid == owner
    assert stat.S_IMODE(os.stat(later).st_mode) == 0o777
