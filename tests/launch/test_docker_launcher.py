"""DockerLauncher against the real engine, with the image containerops/busybox:1.

Every container a test starts carries a label unique to the test and is removed when the
test ends, whatever happened.
"""

from __future__ import annotations

import gc
import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from chalicelib.errors import EngineUnavailable, ImageNotFound, LaunchError, NotFound
from chalicelib.launch.base import ContainerRef, ContainerSpec, MountSpec, OutputChunk, StreamOffsets
from chalicelib.launch.docker_launcher import DockerLauncher
from tests.conftest import BUSYBOX_IMAGE

TEST_LABEL = "containerops.test"
RFC3339_NANO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z")
MIB = 1024 * 1024


@pytest.fixture
def test_id() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def launcher(docker_engine: docker.DockerClient, test_id: str) -> Iterator[DockerLauncher]:
    launcher = DockerLauncher(docker_engine)
    yield launcher
    for leftover in launcher.find({TEST_LABEL: test_id}):
        launcher.remove(leftover)


@pytest.fixture
def spec(test_id: str) -> Callable[..., ContainerSpec]:
    """A busybox container running `script` under sh, labelled for this test's cleanup."""

    def make(script: str, labels: dict[str, str] | None = None, **fields: Any) -> ContainerSpec:
        return ContainerSpec(
            image=BUSYBOX_IMAGE,
            env=fields.pop("env", {}),
            labels={TEST_LABEL: test_id, **(labels or {})},
            command=["sh", "-c", script],
            **fields,
        )

    return make


@pytest.fixture
def start(launcher: DockerLauncher) -> Callable[[ContainerSpec], ContainerRef]:
    """Start a container, leaving its output to the engine's log (read with `output`)."""

    def start_container(container_spec: ContainerSpec) -> ContainerRef:
        started = launcher.start(container_spec)
        started.close()
        return started.container

    return start_container


def output_of(launcher: DockerLauncher, container: ContainerRef) -> list[OutputChunk]:
    return list(launcher.output(container))


def inspect(client: docker.DockerClient, container: ContainerRef) -> dict[str, Any]:
    details: dict[str, Any] = client.api.inspect_container(container.id)
    return details


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def test_output_of_a_container_is_followed_line_by_line_with_timestamps(launcher, spec, start):
    container = start(spec("echo one; echo two; echo three; echo oops >&2"))

    chunks = output_of(launcher, container)

    assert sorted(chunk.data for chunk in chunks) == [b"one\n", b"oops\n", b"three\n", b"two\n"]
    stdout = [chunk.data for chunk in chunks if chunk.data != b"oops\n"]
    assert stdout == [b"one\n", b"two\n", b"three\n"]
    assert all(RFC3339_NANO.fullmatch(chunk.source_time) for chunk in chunks)


def test_an_unterminated_last_line_is_not_lost(launcher, spec, start):
    container = start(spec("echo first; printf 'no newline at the end'"))

    chunks = output_of(launcher, container)

    assert b"".join(chunk.data for chunk in chunks) == b"first\nno newline at the end"


def test_interleaved_stdout_and_stderr_arrive_each_exactly_once(launcher, spec, start):
    script = "seq 1 300 | while read i; do echo out$i; echo err$i >&2; done; printf x >&2; printf y"
    container = start(spec(script))

    chunks = output_of(launcher, container)

    expected = [f"{kind}{i}\n".encode() for kind in ("out", "err") for i in range(1, 301)]
    assert sorted(chunk.data for chunk in chunks) == sorted([*expected, b"x", b"y"])


def test_exit_code_is_reported_with_start_and_finish_times(launcher, spec, start):
    container = start(spec("echo working; exit 3"))

    exit_ = launcher.wait(container)

    assert exit_ is not None
    assert exit_.exit_code == 3
    assert exit_.started_at is not None and exit_.finished_at is not None
    assert exit_.started_at <= exit_.finished_at
    assert not exit_.oom_killed
    assert exit_.error == ""


def test_a_container_killed_for_memory_is_reported_as_oom_killed(launcher, spec, start):
    hog = "head -c 64000000 /dev/zero | tail -c 60000000 > /dev/null"
    container = start(spec(hog, memory_limit_bytes=16 * MIB))

    exit_ = launcher.wait(container)

    assert exit_ is not None
    assert exit_.oom_killed
    assert exit_.exit_code == 137


def test_a_missing_image_raises_image_not_found_naming_the_image(launcher, test_id, start):
    missing = "containerops/no-such-image:0"

    with pytest.raises(ImageNotFound) as raised:
        start(ContainerSpec(image=missing, env={}, labels={TEST_LABEL: test_id}))

    assert str(raised.value) == f"image not found: {missing}"
    assert launcher.find({TEST_LABEL: test_id}) == []


def test_a_command_that_cannot_be_executed_ends_the_container_with_the_inits_reason(
    launcher, test_id, start
):
    broken = ContainerSpec(
        image=BUSYBOX_IMAGE, env={}, labels={TEST_LABEL: test_id}, command=["/no/such/binary"]
    )

    exit_ = launcher.wait(start(broken), timeout=30)

    assert exit_ is not None and exit_.exit_code == 127
    assert exit_.error == ("the container's command could not be run: "
                           "exec /no/such/binary failed: No such file or directory")


def test_a_job_that_exits_127_itself_has_no_engine_error(launcher, spec, start):
    exit_ = launcher.wait(start(spec("echo 'sh: frobnicate: not found' >&2; exit 127")), timeout=30)

    assert exit_ is not None and (exit_.exit_code, exit_.error) == (127, "")


def test_a_container_that_cannot_start_raises_launch_error_and_leaves_no_container(
    launcher, test_id, start
):
    broken = ContainerSpec(image=BUSYBOX_IMAGE, env={}, labels={TEST_LABEL: test_id},
                           command=["true"], user="no-such-user")

    with pytest.raises(LaunchError) as raised:
        start(broken)

    assert not isinstance(raised.value, ImageNotFound)
    assert "no-such-user" in str(raised.value)
    assert launcher.find({TEST_LABEL: test_id}) == []


def test_the_container_runs_unprivileged_without_capabilities_as_the_given_user(
    launcher, spec, docker_engine
, start):
    script = "id -u; id -g; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status"
    container = start(spec(script, user="1000:1000"))

    lines = b"".join(chunk.data for chunk in output_of(launcher, container)).decode().split("\n")
    details = inspect(docker_engine, container)

    assert lines[:4] == ["1000", "1000", "CapEff:\t0000000000000000", "NoNewPrivs:\t1"]
    host_config = details["HostConfig"]
    assert host_config["Privileged"] is False
    assert host_config["CapDrop"] == ["ALL"]
    assert host_config["SecurityOpt"] == ["no-new-privileges"]
    assert details["Config"]["User"] == "1000:1000"
    assert details["Mounts"] == []


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("/var/run/docker.sock", "/var/run/docker.sock"),
        ("/run/docker.sock", "/engine.sock"),
        ("/var/run", "/host-run"),
        ("/", "/host"),
        ("/srv/somewhere/docker.sock", "/engine.sock"),
        ("/tmp", "/var/run/docker.sock"),
    ],
)
def test_a_docker_socket_mount_is_refused(launcher, spec, test_id, source, target, start):
    with pytest.raises(LaunchError, match="Docker engine's socket"):
        start(spec("true", mounts=(MountSpec(source=source, target=target),)))

    assert launcher.find({TEST_LABEL: test_id}) == []


def test_a_read_only_mount_can_be_read_but_not_written(launcher, spec, tmp_path, start):
    (tmp_path / "greeting").write_text("hello from the host\n")
    script = "cat /data/greeting; touch /data/new 2>/dev/null && echo writable || echo read-only"
    user = f"{os.getuid()}:{os.getgid()}"
    mounts = (MountSpec(source=str(tmp_path), target="/data", read_only=True),)
    container = start(spec(script, user=user, mounts=mounts))

    chunks = output_of(launcher, container)

    assert [chunk.data for chunk in chunks] == [b"hello from the host\n", b"read-only\n"]
    assert not (tmp_path / "new").exists()


def test_labels_environment_and_resource_limits_are_applied(launcher, spec, docker_engine, start):
    container = start(
        spec(
            "true",
            labels={"containerops.run": "r-1", "containerops.job": "build"},
            env={"GREETING": "hello world", "CO_DATA": "a=1 b=2"},
            cpu_request=0.5,
            cpu_limit=1.5,
            memory_request_bytes=64 * MIB,
            memory_limit_bytes=128 * MIB,
        )
    )

    details = inspect(docker_engine, container)
    host_config = details["HostConfig"]
    config = details["Config"]

    assert container.labels["containerops.run"] == "r-1"
    assert config["Labels"]["containerops.run"] == "r-1"
    assert config["Labels"]["containerops.job"] == "build"
    assert config["Labels"]["containerops.managed"] == "true"
    assert "GREETING=hello world" in config["Env"]
    assert "CO_DATA=a=1 b=2" in config["Env"]
    assert host_config["NanoCpus"] == 1_500_000_000
    assert host_config["CpuShares"] == 512
    assert host_config["Memory"] == 128 * MIB
    assert host_config["MemorySwap"] == 128 * MIB
    assert host_config["MemoryReservation"] == 64 * MIB
    assert host_config["PidsLimit"] == 1024
    assert host_config["AutoRemove"] is False
    assert host_config["LogConfig"] == {
        "Type": "json-file",
        "Config": {"max-size": "256m", "max-file": "2"},
    }


def test_wait_with_a_timeout_returns_none_while_running_and_stop_ends_it(launcher, spec, start):
    script = "trap 'echo got TERM; exit 3' TERM; echo ready; sleep 600 & wait"
    container = start(spec(script))
    chunks = launcher.output(container)
    assert next(chunks).data == b"ready\n"  # the trap is set from here on

    assert launcher.wait(container, timeout=0.2) is None
    assert launcher.wait(container, timeout=0) is None
    launcher.stop(container, grace=30)

    assert [chunk.data for chunk in chunks] == [b"got TERM\n"]
    exit_ = launcher.wait(container, timeout=30)
    assert exit_ is not None
    assert exit_.exit_code == 3


def test_a_shell_loop_that_sets_no_trap_ends_on_the_stops_sigterm_without_the_grace(
    launcher, spec, start, docker_engine
):
    # As PID 1 the loop would ignore SIGTERM and run on until the SIGKILL after the grace
    # (exit 137, 60 s later); under the engine's init it ends on the SIGTERM itself.
    container = start(spec("while true; do echo looping; sleep 1; done"))
    chunks = launcher.output(container)
    assert next(chunks).data == b"looping\n"

    launcher.stop(container, grace=60)

    exit_ = launcher.wait(container, timeout=30)
    assert exit_ is not None
    assert exit_.exit_code == 128 + 15  # ended by SIGTERM, not SIGKILL
    assert inspect(docker_engine, container)["HostConfig"]["Init"] is True


def test_a_container_created_but_never_started_is_reported_as_failed(launcher, docker_engine, test_id):
    created = docker_engine.api.create_container(
        BUSYBOX_IMAGE, ["true"], labels={TEST_LABEL: test_id, "containerops.managed": "true"}
    )

    exit_ = launcher.wait(ContainerRef(id=created["Id"]), timeout=5)

    assert exit_ is not None
    assert exit_.exit_code != 0
    assert exit_.error == "the container was created but never started"


def test_find_locates_containers_by_run_label(launcher, spec, test_id, start):
    first = start(spec("true", labels={"containerops.run": "run-a"}))
    second = start(spec("sleep 600", labels={"containerops.run": "run-a"}))
    start(spec("true", labels={"containerops.run": "run-b"}))
    launcher.wait(first)

    found = launcher.find({"containerops.run": "run-a", TEST_LABEL: test_id})

    assert {ref.id for ref in found} == {first.id, second.id}
    assert all(ref.labels["containerops.run"] == "run-a" for ref in found)


def test_remove_and_stop_of_a_removed_container_are_fine(launcher, spec, start):
    container = start(spec("true"))
    launcher.wait(container)

    launcher.remove(container)
    launcher.remove(container)
    launcher.stop(container)


def test_waiting_for_a_removed_container_raises_not_found(launcher, spec, start):
    container = start(spec("true"))
    launcher.remove(container)

    with pytest.raises(NotFound):
        launcher.wait(container)


def test_a_re_attach_skips_exactly_the_bytes_already_consumed_of_each_stream(launcher, spec, start):
    long_line = "head -c 40000 /dev/zero | tr '\\0' x; echo"
    container = start(spec(f"echo 1; echo e1 >&2; echo 2; {long_line}; echo e2 >&2; echo 4"))
    launcher.wait(container)

    resumed = list(launcher.output(container, skip=StreamOffsets(stdout=2 + 2 + 100, stderr=3)))

    stdout = b"".join(chunk.data for chunk in resumed if chunk.stream == "stdout")
    stderr = b"".join(chunk.data for chunk in resumed if chunk.stream == "stderr")
    assert stdout == b"x" * (40000 - 100) + b"\n4\n"
    assert stderr == b"e2\n"

def test_a_ten_megabyte_line_arrives_as_a_stream_of_partial_chunks(launcher, spec, start):
    container = start(spec("head -c 10000000 /dev/zero | tr '\\0' x; echo"))

    sizes: list[int] = []
    line_ends: list[bool] = []
    for chunk in launcher.output(container):
        sizes.append(len(chunk.data))
        line_ends.append(chunk.data.endswith(b"\n"))

    assert sum(sizes) == 10_000_001
    assert max(sizes) <= 64 * 1024
    assert len(sizes) > 100
    assert line_ends == [False] * (len(sizes) - 1) + [True]


def test_following_100_mb_of_output_keeps_memory_bounded(launcher, spec, start):
    line = "y" * 1023
    container = start(spec(f"yes {line} | head -c 100000000"))
    baseline = peak = rss_bytes()

    total = 0
    for count, chunk in enumerate(launcher.output(container)):
        total += len(chunk.data)
        if count % 1000 == 0:
            peak = max(peak, rss_bytes())
    peak = max(peak, rss_bytes())

    assert total == 100_000_000
    assert peak - baseline < 40 * MIB


# docker-py's UnixHTTPConnection.connect does not close its socket when connect() fails;
# the test collects those sockets itself, while their warning is ignored.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_an_unreachable_engine_raises_engine_unavailable(monkeypatch, tmp_path):
    nowhere = f"unix://{tmp_path}/no-engine.sock"
    monkeypatch.setenv("DOCKER_HOST", nowhere)

    with pytest.raises(EngineUnavailable, match=f"cannot reach the Docker engine at {nowhere}"):
        DockerLauncher.from_environment()
    client = docker.DockerClient(base_url=nowhere, version="1.41", timeout=5)
    offline = DockerLauncher(client)
    with pytest.raises(EngineUnavailable):
        offline.ping()
    with pytest.raises(EngineUnavailable):
        offline.wait(ContainerRef(id="abc"), timeout=1)
    with pytest.raises(EngineUnavailable):
        list(offline.output(ContainerRef(id="abc")))

    client.close()
    gc.collect()
