"""`containerops serve --allow-mount DIR` (and CONTAINEROPS_ALLOW_MOUNTS): the folders the
server lets jobs mount reach the server, and one that is not a folder stops it from starting."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from chalicelib import server
from chalicelib.cli.main import main
from chalicelib.domain.host_mounts import NO_HOST_MOUNTS, MountPolicy


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[MountPolicy]:
    """The mount policy each `serve` would have served with (the server itself not started)."""
    policies: list[MountPolicy] = []

    def fake_serve(services: Any, host: str, port: int, token: str | None, **options: Any) -> None:
        policies.append(options["mounts"])

    monkeypatch.setattr(server, "serve", fake_serve)
    monkeypatch.delenv("CONTAINEROPS_ALLOW_MOUNTS", raising=False)
    return policies


def serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, ["--data-dir", str(tmp_path / "data"), "serve", *args], env=env)


def test_each_allow_mount_is_a_root_of_the_servers_policy(tmp_path: Path, served: list[MountPolicy]) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "releases").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "releases")
    result = serve(tmp_path, "--allow-mount", str(tmp_path / "repo"), "--allow-mount", str(tmp_path / "link"))
    assert result.exit_code == 0, result.output
    [policy] = served
    assert policy.roots == (str(tmp_path / "repo"), str(tmp_path / "releases"))


def test_without_allow_mount_the_server_mounts_nothing(tmp_path: Path, served: list[MountPolicy]) -> None:
    assert serve(tmp_path).exit_code == 0
    assert served == [NO_HOST_MOUNTS]


def test_the_variable_lists_roots_like_path_and_the_option_replaces_it(
    tmp_path: Path, served: list[MountPolicy]
) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
    listed = os.pathsep.join([str(tmp_path / "a"), "", str(tmp_path / "b"), ""])
    assert serve(tmp_path, env={"CONTAINEROPS_ALLOW_MOUNTS": listed}).exit_code == 0
    assert serve(tmp_path, "--allow-mount", str(tmp_path / "c"),
                 env={"CONTAINEROPS_ALLOW_MOUNTS": listed}).exit_code == 0
    assert [policy.roots for policy in served] == [(str(tmp_path / "a"), str(tmp_path / "b")),
                                                   (str(tmp_path / "c"),)]


def test_a_root_that_is_not_a_folder_stops_the_server_saying_which(
    tmp_path: Path, served: list[MountPolicy]
) -> None:
    by_option = serve(tmp_path, "--allow-mount", str(tmp_path / "missing"))
    by_variable = serve(tmp_path, env={"CONTAINEROPS_ALLOW_MOUNTS": str(tmp_path / "missing")})
    assert by_option.exit_code == by_variable.exit_code == 2
    assert "missing" in by_option.output
    said = " ".join(by_variable.output.split())  # the console wraps long lines
    assert f"CONTAINEROPS_ALLOW_MOUNTS: {tmp_path}/missing is not a folder" in said
    assert served == []
