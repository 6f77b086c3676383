"""`make run` and `make test` prepare the machine themselves (scripts/prepare-machine.sh): on
a machine that lacks something, as a user who is not root, they stop with one sentence that
says what to install; with everything there they go on at once. (As root, on a fresh Debian
machine, the script installs and starts what is missing: that is what CI's clean machine runs.)"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "prepare-machine.sh"


def fake_commands(folder: Path, *, missing: set[str], uid: int,
                  docker_answers: bool = True) -> dict[str, str]:
    """A PATH whose dpkg knows every package but `missing`, whose id says `uid`, and whose
    docker answers (or not); node and npm are the machine's own."""
    folder.mkdir()
    commands = {
        "dpkg": "case \" $* \" in " + "".join(f"*\" {p} \"*) exit 1;; " for p in sorted(missing))
                + "esac; exit 0",
        "id": f"echo {uid}",
        "docker": "exit 0" if docker_answers else "exit 1",
        "apt-get": "echo apt-get must not run >&2; exit 9",
    }
    for name, body in commands.items():
        path = folder / name
        path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
        path.chmod(0o755)
    return {**os.environ, "PATH": f"{folder}:{os.environ['PATH']}"}


def prepare(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def test_a_user_who_is_not_root_is_told_in_one_sentence_what_to_install(tmp_path: Path) -> None:
    result = prepare(fake_commands(tmp_path / "bin", missing={"chromium", "debootstrap"}, uid=1000))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "ContainerOps needs these Debian packages here: debootstrap chromium (as root: apt-get install"
        " -y debootstrap chromium); then run make again."]


def test_a_user_who_is_not_root_without_an_engine_is_told_to_start_it(tmp_path: Path) -> None:
    result = prepare(fake_commands(tmp_path / "bin", missing=set(), uid=1000, docker_answers=False))
    assert result.returncode == 2
    assert "No Docker engine answers here: start it" in result.stderr


def test_a_machine_with_everything_goes_on_at_once_installing_nothing(tmp_path: Path) -> None:
    result = prepare(fake_commands(tmp_path / "bin", missing=set(), uid=1000))
    assert (result.returncode, result.stderr) == (0, "")
