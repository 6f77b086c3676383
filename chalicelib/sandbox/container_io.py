"""What the sandbox's ECS agent and its Kubernetes kubelet do alike with a container's output and
with the workspace sidecars they run in-process.

A container's output becomes lines of its log stream as the log driver makes them (awslogs
on Fargate, Fluent Bit on EKS): stdout and stderr each cut into lines on its own
(`protocol.LineAssembler`), and the stream closed, so every line is delivered, before the
caller tells of the container's end. A workspace sidecar's step runs in-process with its
container's variables, the paths under a mount point moved into that volume's folder;
what it prints goes to its own stream; a crash is an exit code 1 and a line saying so.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from chalicelib.domain.protocol import LineAssembler
from chalicelib.launch.base import OutputChunk

if TYPE_CHECKING:
    from chalicelib.sandbox.awslogs import LogShipper
    from chalicelib.sandbox.task_runner import SidecarRunner

log = logging.getLogger("containerops.sandbox")


def ship_output(shipper: LogShipper, stream: str, output: Iterator[OutputChunk]) -> None:
    """Every line of the container's output into `stream`; returns once it is delivered."""
    shipper.open(stream)
    assemblers = {"stdout": LineAssembler(), "stderr": LineAssembler()}
    try:
        for chunk in output:
            shipper.add(stream, *(line.text for line in assemblers[chunk.stream].feed("", chunk.data)))
        for assembler in assemblers.values():
            shipper.add(stream, *(line.text for line in assembler.flush()))
    finally:
        shipper.close(stream)


def ship_text(shipper: LogShipper, stream: str, text: str) -> None:
    shipper.open(stream)
    try:
        shipper.add(stream, *text.splitlines())
    finally:
        shipper.close(stream)


def in_volumes(env: Mapping[str, str], mounted: Mapping[str, Path]) -> dict[str, str]:
    """The variables with every path under a mount point (`container path -> folder`) moved
    into its folder, as the container would see it."""
    moved = dict(env)
    for name, value in env.items():
        # The deepest mount point holding the path; each path moved once (a folder may itself
        # be under a mount point's path, as /tmp/... under /tmp).
        for inside in sorted(mounted, key=len, reverse=True):
            root = inside.rstrip("/")
            if value == inside or value.startswith(root + "/"):
                moved[name] = str(mounted[inside]) + value[len(root):]
                break
    return moved


def run_sidecar(runner: SidecarRunner, argv: list[str], env: Mapping[str, str], what: str) -> tuple[int, str]:
    """A workspace sidecar's step in-process: its exit code and what it printed."""
    said = io.StringIO()
    try:
        code = runner(argv, env, said)
    except Exception as exc:  # as a container that crashed
        log.exception("sidecar %s failed", what)
        said.write(f"the sidecar crashed: {exc}\n")
        code = 1
    return code, said.getvalue()
