"""Cost of the run's workspace as layers (chalicelib/workspace) against a plain tar copy of the
same tree, in one run.

The tree is what a CI run's clone job leaves in /workspace, generated: a git clone of about
3,000 small files (~30 MB: source, tests and docs as text, loose git objects and a few
hundred small assets, which do not compress) with three larger binaries (a git pack, a
prebuilt tool that is half zeros, a vendored tarball), a few relative symlinks and a
virtualenv's absolute one. Every round, through a `FolderLayerStore` in a temporary folder:

- save (clone): the clone job's save sidecar writes the whole tree as one layer;
- restore (1 layer): the next job's restore sidecar lays it into an empty folder, hands it
  over to the job's user (chown of every path when running as root) and writes its snapshot;
- save (10% changed): that job rewrites 10% of the small files and saves its layer;
- restore (2 layers): a later job restores both.

The baseline is the least a copy of the tree costs: Python's tarfile writing it to a file
without compression, and extracting that file into an empty folder (with the `tar` filter,
since the `data` one refuses the virtualenv's symlink); `shutil.copytree` is timed too, for
scale. Printed: medians over the rounds, the layers' bytes, the ratios to the baseline
(restore to extract, save to write, and restore + save of the clone's layer to write +
extract), and the clone's full layer at gzip levels 1, 3 and 6 to show why level 1 is used.
Transfer to and from S3 is not in these figures; the layer's bytes are what it would move.

    .venv/bin/python bench/workspace.py [--rounds 5] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib.workspace.layers import COMPRESSLEVEL, Kind, snapshot, write_layer
from chalicelib.workspace.store import FolderLayerStore
from chalicelib.workspace.sync import restore, save

RUN = "20261125-173005-4f9a1c2e"
SMALL_FILES, BINARIES = 3_000, (("repo/.git/objects/pack/pack-5e1c.pack", 8, "random"),
                                ("repo/tools/prebuilt/linter", 12, "half-zeros"),
                                ("repo/vendor/toolchain.tar.xz", 5, "random"))
CHANGED_SHARE = 0.10
LEVELS = (1, 3, 6)
MB = 1_000_000
WORDS = ("def", "return", "self", "import", "from", "class", "if", "else", "for", "in", "value",
         "result", "config", "request", "handler", "None", "True", "assert", "yield", "with",
         "parser", "token", "index", "items", "error", "raise", "test", "expected", "context")


# --- the workspace ------------------------------------------------------------------------

def source_lines(rng: random.Random, count: int = 4_000) -> list[str]:
    lines = []
    for _ in range(count):
        indent = "    " * rng.randint(0, 3)
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 12)))
        lines.append(f"{indent}{words}_{rng.randint(0, 999)}({rng.choice(WORDS)})")
    return lines


def small_file(rng: random.Random, index: int, lines: list[str]) -> tuple[str, bytes]:
    """One small file of the clone: its path and contents."""
    roll = index % 10
    if roll == 0:  # loose git objects: zlib'd already
        digest = f"{rng.getrandbits(160):040x}"
        return f"repo/.git/objects/{digest[:2]}/{digest[2:]}", rng.randbytes(rng.randint(200, 6_000))
    if roll == 1 and index % 30 == 1:  # icons, fixtures
        return f"repo/assets/img/icon-{index}.png", rng.randbytes(rng.randint(2_000, 40_000))
    folder = ("src/core", "src/api", "src/util", "tests/unit", "tests/integration", "docs")[index % 6]
    text = "\n".join(rng.choices(lines, k=max(4, int(rng.lognormvariate(4.9, 0.8))))) + "\n"
    suffix = ".md" if folder == "docs" else ".py"
    return f"repo/{folder}/module_{index // 6 % 40}/file_{index}{suffix}", text.encode()


def generate(root: Path, seed: int = 11) -> list[str]:
    """Write the clone job's tree under `root`; return the small files' paths."""
    rng = random.Random(seed)
    lines = source_lines(rng)
    paths = []
    for index in range(SMALL_FILES):
        relative, data = small_file(rng, index, lines)
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(relative)
    for relative, megabytes, kind in BINARIES:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            for _ in range(megabytes):
                chunk = rng.randbytes(MB)
                handle.write(chunk if kind == "random" else chunk[:MB // 2] + bytes(MB // 2))
    (root / "repo/.git/HEAD").write_text("ref: refs/heads/main\n")
    (root / "repo/.venv/bin").mkdir(parents=True)
    (root / "repo/.venv/bin/python").symlink_to("/usr/bin/python3")
    (root / "repo/docs/latest").symlink_to("module_0")
    (root / "repo/bin").mkdir()
    for tool in ("lint", "test", "build"):
        (root / f"repo/bin/{tool}").symlink_to(f"../src/util/module_0/file_{tool}.py")
    return paths


def change_share(root: Path, paths: list[str], share: float, rng: random.Random) -> int:
    """Rewrite `share` of the small files with new contents of about their size."""
    chosen = rng.sample(paths, int(len(paths) * share))
    for relative in chosen:
        path = root / relative
        data = path.read_bytes()
        path.write_bytes(data[len(data) // 2:] + data[:len(data) // 2] + b"\n# changed\n")
    return len(chosen)


def tree_size(root: Path) -> tuple[int, int]:
    taken = snapshot(root)
    return sum(1 for e in taken.values() if e.kind is Kind.FILE), sum(e.size for e in taken.values())


# --- one round ----------------------------------------------------------------------------

@dataclass
class Round:
    save_clone: float = 0.0
    restore_one: float = 0.0
    save_changed: float = 0.0
    restore_two: float = 0.0
    tar_write: float = 0.0
    tar_extract: float = 0.0
    copytree: float = 0.0
    clone_layer: int = 0
    changed_layer: int = 0
    plain_tar: int = 0


def timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def one_round(source: Path, paths: list[str], work: Path, seed: int) -> Round:
    figures = Round()
    store = FolderLayerStore(work / "bucket")
    owner = (os.getuid(), os.getgid())
    times = iter(range(1, 1_000))

    def clock_ns() -> int:
        return next(times)

    # The clone job: its restore found nothing, its save uploads the whole tree.
    clone = work / "clone"
    shutil.copytree(source, clone / "ws", symlinks=True)
    (clone / "state.json").write_text('{"format":1,"entries":{}}')
    figures.save_clone = timed(lambda: save(store, RUN, "clone", 1, clone / "ws", clone / "state.json",
                                            clock_ns))
    figures.clone_layer = sum(os.path.getsize(work / "bucket" / key) for key in store.keys(""))

    test = work / "test"
    figures.restore_one = timed(lambda: restore(store, RUN, test / "ws", test / "state.json", owner))
    change_share(test / "ws", paths, CHANGED_SHARE, random.Random(seed))
    figures.save_changed = timed(lambda: save(store, RUN, "test", 1, test / "ws", test / "state.json",
                                              clock_ns))
    figures.changed_layer = sum(os.path.getsize(work / "bucket" / key) for key in store.keys("")) \
        - figures.clone_layer
    package = work / "package"
    figures.restore_two = timed(lambda: restore(store, RUN, package / "ws", package / "state.json", owner))

    archive = work / "plain.tar"

    def tar_write() -> None:
        with tarfile.open(archive, "w") as tar:
            tar.add(source, arcname=".")

    def tar_extract() -> None:
        with tarfile.open(archive, "r") as tar:
            tar.extractall(work / "untarred", filter="tar")

    figures.tar_write = timed(tar_write)
    figures.plain_tar = os.path.getsize(archive)
    figures.tar_extract = timed(tar_extract)
    figures.copytree = timed(lambda: shutil.copytree(source, work / "copied", symlinks=True))
    return figures


def levels(source: Path, work: Path, rounds: int) -> list[tuple[int, float, int]]:
    """The clone's full layer written at each gzip level: (level, median seconds, bytes)."""
    found = []
    for level in LEVELS:
        seconds: list[float] = []
        size = 0
        for _ in range(rounds):
            with (work / f"level-{level}.tar.gz").open("wb") as out:
                began = time.perf_counter()
                write_layer(source, {}, out, compresslevel=level)
                seconds.append(time.perf_counter() - began)
                size = out.tell()
        found.append((level, statistics.median(seconds), size))
    return found


# --- printing -----------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", default=None, help="where the trees are made (default: the system's temp)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=options.dir, prefix="bench-workspace-") as directory:
        base = Path(directory)
        source = base / "source"
        paths = generate(source)
        files, size = tree_size(source)
        small = sum((source / path).stat().st_size for path in paths)
        print(f"workspace: {files:,} files, {size / MB:,.1f} MB ({SMALL_FILES:,} small files,"
              f" {small / MB:,.1f} MB; {len(BINARIES)} binaries, {sum(b[1] for b in BINARIES)} MB);"
              f" medians of {options.rounds} rounds"
              f"{'; as root, so restore chowns every path' if os.geteuid() == 0 else ''}")
        measured = []
        for number in range(options.rounds):
            work = base / f"round-{number}"
            work.mkdir()
            measured.append(one_round(source, paths, work, seed=number))
            shutil.rmtree(work)

        def median(name: str) -> float:
            return float(statistics.median(getattr(figures, name) for figures in measured))

        write, extract = median("tar_write"), median("tar_extract")
        print(f"  baseline, plain tar (tarfile, no gzip, {measured[0].plain_tar / MB:,.1f} MB):"
              f" write {write:.3f} s, extract {extract:.3f} s, both {write + extract:.3f} s;"
              f" shutil.copytree {median('copytree'):.3f} s")
        rows = [("save (clone: the whole tree)", "save_clone", "clone_layer", write, "tar write"),
                ("restore (1 layer)", "restore_one", None, extract, "tar extract"),
                (f"save ({CHANGED_SHARE:.0%} of the small files changed)", "save_changed", "changed_layer",
                 write, "tar write"),
                ("restore (2 layers)", "restore_two", None, extract, "tar extract")]
        for label, name, layer, baseline, against in rows:
            size_text = f"layer {median(layer) / MB:6.1f} MB" if layer else " " * 16
            print(f"  {label:<40} {median(name):7.3f} s   {size_text}   "
                  f"{median(name) / baseline:5.2f} x {against}")
        moved = median("save_clone") + median("restore_one")
        print(f"  {'restore + save of the clone layer':<40} {moved:7.3f} s   {'':16}   "
              f"{moved / (write + extract):5.2f} x tar write + extract")
        print(f"  the clone's layer by gzip level (layers use level {COMPRESSLEVEL}):")
        for level, seconds, layer_bytes in levels(source, base, options.rounds):
            print(f"    level {level}: write {seconds:.3f} s, {layer_bytes / MB:,.1f} MB"
                  f" ({layer_bytes / size:.0%} of the tree)")


if __name__ == "__main__":
    main()
