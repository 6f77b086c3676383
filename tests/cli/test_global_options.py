"""Global options work wherever a user types them: before the command or after it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import click
import docker
import pytest
from click.testing import CliRunner

from chalicelib.cli.global_options import GLOBAL_OPTIONS
from chalicelib.cli.main import main
from tests.local.conftest import EXAMPLES, wait_until
from tests.test_server import free_port, serve_environment

CLI = [sys.executable, "-m", "chalicelib.cli.main"]
HELLO = [str(EXAMPLES / "components"), str(EXAMPLES / "workflows/hello.yaml")]


def command_paths(group: click.Group, above: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in sorted(group.commands.items()):
        yield (*above, name)
        if isinstance(command, click.Group):
            yield from command_paths(command, (*above, name))


EVERY_COMMAND = list(command_paths(main))


def invoke(*args: str, env: dict[str, str] | None = None) -> click.testing.Result:
    return CliRunner().invoke(main, list(args), env={"COLUMNS": "200", **(env or {})})


@pytest.fixture
def elsewhere(tmp_path: Path) -> dict[str, str]:
    """The default data directory points away from where the tests write."""
    return {"CONTAINEROPS_DATA_DIR": str(tmp_path / "default")}


def test_the_command_tree_is_walked_whole() -> None:
    assert {("serve",), ("runs",), ("component", "add"), ("tokens", "create")} <= set(EVERY_COMMAND)


@pytest.mark.parametrize("path", EVERY_COMMAND, ids=" ".join)
@pytest.mark.parametrize("declaration", [o.declarations[0] for o in GLOBAL_OPTIONS])
def test_every_command_accepts_every_global_option_after_its_name(
    path: tuple[str, ...], declaration: str, tmp_path: Path
) -> None:
    result = invoke(*path, declaration, str(tmp_path), "--help")

    assert result.exit_code == 0, result.output
    assert declaration in result.output  # and its help says so


def test_data_dir_after_the_command_is_the_data_dir_used(tmp_path: Path, elsewhere: dict[str, str]
                                                         ) -> None:
    result = invoke("load", *HELLO, "--data-dir", str(tmp_path / "after"), env=elsewhere)

    assert result.exit_code == 0, result.output
    assert (tmp_path / "after" / "containerops.db").exists()
    assert not (tmp_path / "default").exists()
    listed = invoke("runs", "--output", "json", "--data-dir", str(tmp_path / "after"))
    assert json.loads(listed.output) == []


def test_data_dir_given_both_before_and_after_the_command_takes_the_last(
    tmp_path: Path, elsewhere: dict[str, str]
) -> None:
    result = invoke("--data-dir", str(tmp_path / "before"), "load", *HELLO,
                    "--data-dir", str(tmp_path / "after"), env=elsewhere)

    assert result.exit_code == 0, result.output
    assert (tmp_path / "after" / "containerops.db").exists()
    assert not (tmp_path / "before").exists()


def test_data_dir_of_a_subgroups_command_is_used(tmp_path: Path, elsewhere: dict[str, str]) -> None:
    components = [str(p) for p in sorted(EXAMPLES.glob("components/*/component.yaml"))]

    result = invoke("component", "add", *components, "--data-dir", str(tmp_path / "d"),
                    env=elsewhere)

    assert result.exit_code == 0, result.output
    assert (tmp_path / "d" / "containerops.db").exists()
    assert not (tmp_path / "default").exists()


def test_serve_with_the_data_dir_after_the_command_serves_that_data(
    tmp_path: Path, docker_engine: docker.DockerClient
) -> None:
    data_dir = tmp_path / "data"
    assert invoke("load", *HELLO, "--data-dir", str(data_dir)).exit_code == 0
    port, log = free_port(), tmp_path / "serve.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--static-dir", str(tmp_path / "none"),
             "--data-dir", str(data_dir)],
            stdout=sink, stderr=subprocess.STDOUT, text=True,
            env={**serve_environment(), "CONTAINEROPS_DATA_DIR": str(tmp_path / "default")},
        )
    try:
        wait_until(lambda: "serving http://" in log.read_text() or server.poll() is not None,
                   deadline_seconds=30)
        assert server.poll() is None, log.read_text()
        url = f"http://127.0.0.1:{port}/api/namespaces/examples/workflows"
        with urllib.request.urlopen(url, timeout=30) as answer:
            workflows = json.loads(answer.read())
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert "hello" in json.dumps(workflows)
    assert not (tmp_path / "default").exists()
