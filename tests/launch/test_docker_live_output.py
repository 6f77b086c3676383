"""Live output through the attach stream, and containers held at the gate until released."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import docker
import pytest

from chalicelib.errors import LaunchError
from chalicelib.launch.base import ContainerSpec, OutputChunk
from chalicelib.launch.docker_gate import find_static_busybox
from chalicelib.launch.docker_launcher import DockerLauncher
from tests.conftest import BUSYBOX_IMAGE

TEST_LABEL = "containerops.test.live"


@pytest.fixture
def launcher(docker_engine: docker.DockerClient) -> Iterator[DockerLauncher]:
    launcher = DockerLauncher(docker_engine, gate_binary=find_static_busybox())
    yield launcher
    for leftover in launcher.find({TEST_LABEL: "yes"}):
        launcher.remove(leftover)


@pytest.fixture
def spec() -> Callable[..., ContainerSpec]:
    def make(script: str, **fields: object) -> ContainerSpec:
        return ContainerSpec(image=BUSYBOX_IMAGE, env={}, labels={TEST_LABEL: "yes"},
                             command=["sh", "-c", script], user="1000:1000", **fields)  # type: ignore[arg-type]
    return make


def text_of(chunks: list[OutputChunk], stream: str) -> bytes:
    return b"".join(chunk.data for chunk in chunks if chunk.stream == stream)


def test_live_output_holds_every_byte_of_both_streams_until_the_container_ends(launcher, spec):
    started = launcher.start(spec("echo out; echo err >&2; sleep 0.2; printf 'no newline'"))

    chunks = list(started.output)

    assert text_of(chunks, "stdout") == b"out\nno newline"
    assert text_of(chunks, "stderr") == b"err\n"
    assert launcher.wait(started.container).exit_code == 0


def test_a_held_container_runs_its_command_only_when_released_with_its_environment(
    launcher, spec, docker_engine
):
    held = launcher.start_held(spec('echo "data=$CO_DATA"; echo "note=$NOTE"; echo done >&2'))
    assert launcher.wait(held, timeout=0) is None, "held, still waiting at the gate"
    assert docker_engine.api.logs(held.id) == b"", "its command has not run"

    env = {"CO_DATA": "msg='two words' k=v", "NOTE": "line one\nline 'two' $HOME `x`"}
    chunks = list(launcher.release(held, env).output)

    assert text_of(chunks, "stdout") == (
        b"data=msg='two words' k=v\nnote=line one\nline 'two' $HOME `x`\n"
    )
    assert text_of(chunks, "stderr") == b"done\n"
    assert launcher.wait(held).exit_code == 0


def test_a_released_process_finds_its_stdin_closed(launcher, spec):
    held = launcher.start_held(spec("cat; echo after-cat"))

    chunks = list(launcher.release(held, {}).output)

    assert text_of(chunks, "stdout") == b"after-cat\n"


def test_a_released_shell_loop_ends_on_the_stops_sigterm_without_the_grace(launcher, spec):
    held = launcher.start_held(spec("while true; do echo looping; sleep 1; done"))
    output = launcher.release(held, {}).output
    assert next(output).data == b"looping\n"

    launcher.stop(held, grace=60)

    exit_ = launcher.wait(held, timeout=30)
    assert exit_ is not None and exit_.exit_code == 128 + 15


def test_the_environment_never_appears_in_the_container_configuration(
    launcher, spec, docker_engine
):
    held = launcher.start_held(spec("true"))
    list(launcher.release(held, {"TOKEN": "s3cr3t"}).output)

    assert "s3cr3t" not in str(docker_engine.api.inspect_container(held.id)["Config"])


def test_names_the_gate_shell_cannot_export_are_not_held(launcher):
    assert launcher.can_hold(["CO_DATA", "GOFLAGS", "_x1"])
    assert not launcher.can_hold(["my-var"])
    assert not launcher.can_hold(["1ABC"])


def test_a_launcher_without_a_static_busybox_cannot_hold(docker_engine, spec):
    launcher = DockerLauncher(docker_engine, gate_binary=None)

    assert not launcher.can_hold(["A"])
    with pytest.raises(LaunchError):
        launcher.start_held(spec("true"))
