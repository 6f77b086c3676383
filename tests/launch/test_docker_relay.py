"""The output relay: its records decoded back into the job's two streams (pure), then jobs
on the real engine under the relay keep the order they printed in, exactly, with the same
bytes, exit codes, stops and re-attaches as without it.

Before the relay, the engine gave the example `failing` job's four lines out of order in 25
runs of 30 (its `error:` line first, second or fourth): the order tests below run each job
many times and fail at the first run out of order.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from chalicelib.launch.base import ContainerRef, ContainerSpec, OutputChunk, StreamOffsets
from chalicelib.launch.docker_gate import find_static_busybox
from chalicelib.launch.docker_launcher import DockerLauncher
from chalicelib.launch.docker_relay import (
    MAX_RECORD_BYTES,
    RELAY_LABEL,
    RecordDecoder,
    decoded,
    find_relay,
    relay_entrypoint,
)
from tests.conftest import BUSYBOX_IMAGE

TEST_LABEL = "containerops.test"
FAILING_CHECK = (  # examples/workflows/failing.yaml's check job
    'echo "checking the release notes"\n'
    'echo "error: CHANGELOG has no entry for this version" >&2\n'
    'echo "[COUT] REASON = CHANGELOG has no entry for this version"\n'
    'echo "[COUT] CO_RESULT = false"\n'
)
AS_PRINTED = [
    ("stdout", "checking the release notes\n"),
    ("stderr", "error: CHANGELOG has no entry for this version\n"),
    ("stdout", "[COUT] REASON = CHANGELOG has no entry for this version\n"),
    ("stdout", "[COUT] CO_RESULT = false\n"),
]


def chunk(data: bytes, stream: str = "stdout", source_time: str = "") -> OutputChunk:
    return OutputChunk(source_time, data, stream)  # type: ignore[arg-type]


def lines_of(chunks: Iterator[OutputChunk] | list[OutputChunk]) -> list[tuple[str, str]]:
    """(stream, line) for every line, a line being cut only where its stream's bytes say."""
    text: dict[str, str] = {"stdout": "", "stderr": ""}
    lines: list[tuple[str, str]] = []
    for piece in chunks:
        text[piece.stream] += piece.data.decode()
        *ended, text[piece.stream] = text[piece.stream].split("\n")
        lines += [(piece.stream, line + "\n") for line in ended]
    return lines + [(stream, rest) for stream, rest in text.items() if rest]


# --- the records, decoded -----------------------------------------------------------------

def test_records_become_the_job_streams_in_their_order() -> None:
    records = b"ochecking\neerror: no entry\no[COUT] CO_RESULT = false\n"
    assert [(c.stream, c.data) for c in decoded([chunk(records)])] == [
        ("stdout", b"checking\n"), ("stderr", b"error: no entry\n"),
        ("stdout", b"[COUT] CO_RESULT = false\n")]


def test_neighbouring_records_of_one_stream_come_as_one_chunk() -> None:
    pieces = list(decoded([chunk(b"oone\notwo\nOthr\noee\neerr\n", source_time="t1")]))
    assert [(c.stream, c.data, c.source_time) for c in pieces] == [
        ("stdout", b"one\ntwo\nthree\n", "t1"), ("stderr", b"err\n", "t1")]


def test_a_record_cut_anywhere_by_the_engine_is_joined() -> None:
    records = b"ofirst line\neerror: second\nOpart\no of the third\n"
    for cut in range(1, len(records)):
        pieces = decoded([chunk(records[:cut]), chunk(records[cut:])])
        assert lines_of(pieces) == [("stdout", "first line\n"), ("stderr", "error: second\n"),
                                    ("stdout", "part of the third\n")], cut


def test_a_line_the_job_never_ended_keeps_its_bytes() -> None:
    assert lines_of(decoded([chunk(b"oready\nOno newline at the end\n")])) == [
        ("stdout", "ready\n"), ("stdout", "no newline at the end")]


def test_what_the_relay_says_on_its_own_stderr_is_stderr() -> None:
    said = b"co-relay: exec /no/such failed: No such file or directory\n"
    assert [(c.stream, c.data) for c in decoded([chunk(said, "stderr")])] == [("stderr", said)]


def test_text_that_is_no_record_is_passed_on_as_stdout() -> None:
    assert lines_of(decoded([chunk(b"\nXraw line\nook\n")])) == [
        ("stdout", "\n"), ("stdout", "Xraw line\n"), ("stdout", "ok\n")]


def test_a_record_the_relay_never_finished_is_passed_on_at_the_end() -> None:
    assert lines_of(decoded([chunk(b"oone\nOcut sho")])) == [("stdout", "one\n"), ("stdout", "cut sho")]


def test_a_runaway_record_is_passed_on_rather_than_held() -> None:
    decoder = RecordDecoder()
    flood = b"x" * (MAX_RECORD_BYTES + 1)
    passed = list(decoder.feed(chunk(flood)))
    assert b"".join(c.data for c in passed) == flood + b"\n"
    assert list(decoder.finish()) == []


def test_the_entrypoint_runs_the_whole_command_under_the_relay() -> None:
    assert relay_entrypoint(["sh", "-c", "echo hi"]) == ["/.containerops/relay", "--", "sh", "-c", "echo hi"]


def test_only_a_static_executable_is_taken_for_the_relay(tmp_path: Path, relay_binary: str) -> None:
    script = tmp_path / "co-relay"
    script.write_text("#!/bin/sh\n")
    assert find_relay(tmp_path / "missing") is None
    assert find_relay(script) is None
    assert find_relay(Path(relay_binary)) == relay_binary


# --- jobs on the engine ---------------------------------------------------------------------

@pytest.fixture
def test_id() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def launcher(docker_engine: docker.DockerClient, relay_binary: str, test_id: str) -> Iterator[DockerLauncher]:
    launcher = DockerLauncher(docker_engine, relay_binary=relay_binary, gate_binary=find_static_busybox())
    yield launcher
    for leftover in launcher.find({TEST_LABEL: test_id}):
        launcher.remove(leftover)


@pytest.fixture
def spec(test_id: str) -> Callable[..., ContainerSpec]:
    def make(script: str, **fields: Any) -> ContainerSpec:
        return ContainerSpec(image=BUSYBOX_IMAGE, env=fields.pop("env", {}), labels={TEST_LABEL: test_id},
                             command=["sh", "-c", script], **fields)

    return make


def finished(
    launcher: DockerLauncher, container_spec: ContainerSpec
) -> tuple[list[OutputChunk], ContainerRef]:
    started = launcher.start(container_spec)
    output = list(started.output)
    started.close()
    return output, started.container


def test_the_failing_examples_lines_arrive_as_printed_every_time(launcher, spec) -> None:
    for attempt in range(20):
        output, container = finished(launcher, spec(FAILING_CHECK))
        assert lines_of(output) == AS_PRINTED, f"run {attempt + 1}"
        assert lines_of(launcher.output(container)) == AS_PRINTED, f"re-read of run {attempt + 1}"
        launcher.remove(container)


def test_hundreds_of_alternating_lines_keep_their_order_and_streams(launcher, spec) -> None:
    script = ('i=0; while [ $i -lt 400 ]; do echo "$i out"; i=$((i+1)); '
              'echo "$i err" >&2; i=$((i+1)); done')
    expected = [("stdout" if n % 2 == 0 else "stderr", f"{n} {'out' if n % 2 == 0 else 'err'}\n")
                for n in range(400)]
    for attempt in range(5):
        output, container = finished(launcher, spec(script))
        assert lines_of(output) == expected, f"run {attempt + 1}"
        launcher.remove(container)


def test_a_write_larger_than_a_page_and_a_line_without_end_pass_whole(launcher, spec) -> None:
    script = "head -c 100000 /dev/zero | tr '\\0' x; echo; printf 'no end'"
    output, _ = finished(launcher, spec(script))
    assert lines_of(output) == [("stdout", "x" * 100_000 + "\n"), ("stdout", "no end")]


def test_the_exit_code_is_the_jobs_and_the_container_is_labelled_relayed(launcher, spec) -> None:
    started = launcher.start(spec("echo bye; exit 3"))
    list(started.output)
    exit_info = launcher.wait(started.container)
    assert exit_info is not None and exit_info.exit_code == 3
    assert started.container.labels[RELAY_LABEL] == "true"


def test_a_stop_reaches_the_job_through_the_relay(launcher, spec) -> None:
    started = launcher.start(spec("echo started; while true; do sleep 1; done"))
    assert next(started.output).data == b"started\n"
    launcher.stop(started.container, grace=30)
    exit_info = launcher.wait(started.container, timeout=20)
    assert exit_info is not None and exit_info.exit_code == 143  # SIGTERM, long before the grace


def test_a_command_that_cannot_be_executed_says_why(launcher, test_id) -> None:
    spec = ContainerSpec(image=BUSYBOX_IMAGE, env={}, labels={TEST_LABEL: test_id}, command=["/no/such"])
    output, container = finished(launcher, spec)
    exit_info = launcher.wait(container)
    assert exit_info is not None and exit_info.exit_code == 127
    assert "exec /no/such failed: No such file or directory" in exit_info.error
    assert lines_of(output) == [("stderr", "co-relay: exec /no/such failed: No such file or directory\n")]


def test_an_images_own_command_runs_under_the_relay(launcher, test_id) -> None:
    spec = ContainerSpec(image=BUSYBOX_IMAGE, env={}, labels={TEST_LABEL: test_id}, command=None)
    output, container = finished(launcher, spec)  # the image's /bin/sh, stdin closed: ends at once
    exit_info = launcher.wait(container)
    assert exit_info is not None and exit_info.exit_code == 0 and output == []


def test_a_held_container_released_runs_the_job_under_the_relay_in_order(launcher, spec) -> None:
    held = launcher.start_held(spec(FAILING_CHECK + 'echo "$GREETING" >&2'))
    started = launcher.release(held, {"GREETING": "hello from the gate"})
    output = list(started.output)
    started.close()
    assert lines_of(output) == [*AS_PRINTED, ("stderr", "hello from the gate\n")]


def test_a_re_attach_skips_exactly_the_bytes_already_consumed_of_each_stream(launcher, spec) -> None:
    _, container = finished(launcher, spec(FAILING_CHECK))
    skip = StreamOffsets(stdout=len(AS_PRINTED[0][1]) + len("[COUT] "), stderr=len("error: "))
    assert lines_of(launcher.output(container, skip=skip)) == [
        ("stderr", "CHANGELOG has no entry for this version\n"),
        ("stdout", "REASON = CHANGELOG has no entry for this version\n"),
        ("stdout", "[COUT] CO_RESULT = false\n"),
    ]
