"""The Launcher interface between the local driver and a container engine.

`DockerLauncher` is the real one; tests of the driver use a scripted fake. A launcher
knows nothing of workflows: it gets a ContainerSpec and reports raw output and exits.
Errors: EngineUnavailable when the engine cannot be reached, ImageNotFound and
LaunchError when a container cannot start.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field


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


@dataclass(frozen=True)
class OutputChunk:
    """A piece of a container's output as the engine delivered it.

    `source_time` is the engine's timestamp for the chunk (empty when it has none);
    `data` does not necessarily end at a line break.
    """

    source_time: str
    data: bytes


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
    def start(self, spec: ContainerSpec) -> ContainerRef: ...

    @abstractmethod
    def output(self, container: ContainerRef, since: str = "") -> Iterator[OutputChunk]:
        """Follow the container's output until it ends; `since` resumes at a source time."""

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
