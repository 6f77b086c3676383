"""The Launcher interface between the local driver and a container engine.

`DockerLauncher` is the real one; tests of the driver use a scripted fake. A launcher
knows nothing of workflows: it gets a ContainerSpec and reports raw output and exits.
Errors: EngineUnavailable when the engine cannot be reached, ImageNotFound and
LaunchError when a container cannot start.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from chalicelib.errors import LaunchError

HELD_LABEL = "containerops.held"  # on containers started held (see Launcher.start_held)


@dataclass(frozen=True)
class MountSpec:
    source: str
    target: str
    read_only: bool = True


@dataclass(frozen=True)
class ContainerSpec:
    image: str
    env: dict[str, str]
    labels: dict[str, str]
    command: list[str] | None = None
    mounts: tuple[MountSpec, ...] = ()
    cpu_request: float | None = None
    cpu_limit: float | None = None
    memory_request_bytes: int | None = None
    memory_limit_bytes: int | None = None
    user: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class ContainerRef:
    id: str
    labels: dict[str, str] = field(default_factory=dict)


StreamName = Literal["stdout", "stderr"]


@dataclass(frozen=True)
class OutputChunk:
    """A piece of a container's output as the engine delivered it.

    `source_time` is the engine's timestamp for the chunk (empty when it has none);
    `data` does not necessarily end at a line break.
    """

    source_time: str
    data: bytes
    stream: StreamName = "stdout"


@dataclass(frozen=True)
class StreamOffsets:
    """How many bytes of each stream were already consumed: where a re-attach resumes."""

    stdout: int = 0
    stderr: int = 0


NO_OFFSETS = StreamOffsets()


@dataclass
class Started:
    """A started container and its live output, complete from the first byte to its end.

    The output must be read (or closed): an engine may hold the container's writes until
    they are.
    """

    container: ContainerRef
    output: Iterator[OutputChunk]
    close: Callable[[], None] = lambda: None  # stop reading early (the output is not needed)


@dataclass(frozen=True)
class ContainerExit:
    exit_code: int
    started_at: float | None
    finished_at: float | None
    oom_killed: bool = False
    error: str = ""


class Launcher(ABC):
    @abstractmethod
    def ping(self) -> None:
        """Raise EngineUnavailable if the engine cannot be used."""

    @abstractmethod
    def start(self, spec: ContainerSpec) -> Started: ...

    @abstractmethod
    def output(
        self, container: ContainerRef, skip: StreamOffsets = NO_OFFSETS
    ) -> Iterator[OutputChunk]:
        """Follow the container's output from the engine's log until it ends, after the
        bytes of each stream already consumed: how a restarted driver re-attaches."""

    @abstractmethod
    def wait(self, container: ContainerRef, timeout: float | None = None) -> ContainerExit | None:
        """The exit, or None if the container still runs after `timeout` seconds."""

    @abstractmethod
    def stop(self, container: ContainerRef, grace: float = 5.0) -> None: ...

    @abstractmethod
    def remove(self, container: ContainerRef) -> None: ...

    @abstractmethod
    def find(self, labels: dict[str, str]) -> list[ContainerRef]:
        """Containers (running or exited) carrying all these labels."""

    # --- held containers: started early, run when released (optional) -----------------
    def can_hold(self, env_names: Iterable[str]) -> bool:
        """Whether `start_held` works here for a job with these variable names."""
        return False

    def start_held(self, spec: ContainerSpec) -> ContainerRef:
        """Start a container whose process waits until `release`; `spec.env` is not used."""
        raise LaunchError("this launcher cannot hold containers")

    def release(self, container: ContainerRef, env: dict[str, str]) -> Started:
        """Let a held container's process run with this environment; its live output."""
        raise LaunchError("this launcher cannot hold containers")
