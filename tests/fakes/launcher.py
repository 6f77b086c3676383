"""A scripted container engine for the run rules' tests: no Docker, only the CPU.

Each container a job gets follows the next of its `Script`s, the last one repeating (what
the container prints, how it exits, whether it hangs until stopped, whether it cannot
start); a job without scripts prints nothing and exits 0. Containers outlive a driver that stops
using them, so a test can leave one "running" for the next driver to re-attach to, the way
a real engine keeps containers through a server restart.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from chalicelib.errors import LaunchError
from chalicelib.launch.base import (
    NO_OFFSETS,
    ContainerExit,
    ContainerRef,
    ContainerSpec,
    Launcher,
    OutputChunk,
    Started,
    StreamOffsets,
)
from chalicelib.local.attempt import LABEL_ATTEMPT, LABEL_JOB

STOPPED_EXIT_CODE = 137


@dataclass(frozen=True)
class Script:
    lines: tuple[str, ...] = ()
    exit_code: int = 0
    hang: bool = False  # after its lines, run until stopped
    launch_error: str = ""  # the container cannot start
    oom_killed: bool = False


def prints(*lines: str, exit_code: int = 0) -> Script:
    return Script(tuple(lines), exit_code)


def hangs(*lines: str) -> Script:
    return Script(tuple(lines), hang=True)


@dataclass
class FakeContainer:
    ref: ContainerRef
    spec: ContainerSpec
    script: Script
    started: threading.Event = field(default_factory=threading.Event)
    stopped: threading.Event = field(default_factory=threading.Event)
    removed: bool = False

    @property
    def output_bytes(self) -> bytes:
        return b"".join(line.encode() + b"\n" for line in self.script.lines)

    @property
    def exit(self) -> ContainerExit:
        if self.stopped.is_set() and self.script.hang:
            return ContainerExit(STOPPED_EXIT_CODE, 1.0, 2.0)
        return ContainerExit(self.script.exit_code, 1.0, 2.0, oom_killed=self.script.oom_killed)


class FakeLauncher(Launcher):
    def __init__(self, scripts: dict[str, list[Script]] | None = None) -> None:
        self.scripts = dict(scripts or {})
        self.containers: list[FakeContainer] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    # --- what the tests look at -------------------------------------------------------
    def launched(self, job: str) -> list[FakeContainer]:
        with self._lock:
            return [c for c in self.containers if c.ref.labels.get(LABEL_JOB) == job]

    def wait_until_started(self, job: str, attempt: int = 1, timeout: float = 30.0) -> FakeContainer:
        """The attempt's container once it runs (what a test waits for before it acts)."""
        with self._changed:
            self._changed.wait_for(lambda: self._find(job, attempt) is not None, timeout)
            found = self._find(job, attempt)
        if found is None:
            raise AssertionError(f"attempt {attempt} of job {job} did not start within {timeout}s")
        return found

    def _find(self, job: str, attempt: int) -> FakeContainer | None:
        for container in self.containers:
            labels = container.ref.labels
            if labels.get(LABEL_JOB) == job and labels.get(LABEL_ATTEMPT) == str(attempt):
                return container
        return None

    def leave_running(self, spec: ContainerSpec, script: Script) -> FakeContainer:
        """A container a previous driver started (and is still running, or has ended)."""
        with self._changed:
            container = FakeContainer(ContainerRef(f"fake-{next(self._ids)}", dict(spec.labels)),
                                      spec, script)
            container.started.set()
            self.containers.append(container)
            self._changed.notify_all()
        return container

    # --- the Launcher interface -------------------------------------------------------
    def ping(self) -> None:
        pass

    def start(self, spec: ContainerSpec) -> Started:
        job = spec.labels[LABEL_JOB]
        scripts = self.scripts.get(job, [])
        script = scripts[min(len(self.launched(job)), len(scripts) - 1)] if scripts else Script()
        if script.launch_error:
            raise LaunchError(script.launch_error)
        container = self.leave_running(spec, script)
        return Started(container.ref, self._output(container, NO_OFFSETS))

    def output(self, container: ContainerRef, skip: StreamOffsets = NO_OFFSETS) -> Iterator[OutputChunk]:
        return self._output(self._container(container), skip)

    def _output(self, container: FakeContainer, skip: StreamOffsets) -> Iterator[OutputChunk]:
        data = container.output_bytes[skip.stdout:]
        if data:
            yield OutputChunk("", data)
        if container.script.hang:
            container.stopped.wait()

    def wait(self, container: ContainerRef, timeout: float | None = None) -> ContainerExit | None:
        found = self._container(container)
        if found.script.hang and not found.stopped.wait(timeout):
            return None
        return found.exit

    def stop(self, container: ContainerRef, grace: float = 5.0) -> None:
        self._container(container).stopped.set()

    def remove(self, container: ContainerRef) -> None:
        found = self._container(container)
        found.stopped.set()
        found.removed = True

    def find(self, labels: dict[str, str]) -> list[ContainerRef]:
        with self._lock:
            return [
                c.ref for c in self.containers
                if not c.removed and all(c.ref.labels.get(k) == v for k, v in labels.items())
            ]

    def _container(self, ref: ContainerRef) -> FakeContainer:
        with self._lock:
            for container in self.containers:
                if container.ref.id == ref.id:
                    return container
        raise LaunchError(f"no such container: {ref.id}")
