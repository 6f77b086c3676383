"""The containers a run starts ahead of time for the jobs it will need next.

While a stage runs, the next stage's containers are started held at their gate (see
`launch.docker_gate`), in the background, so when the stage ends they only need their
environment to begin. A held container is only used when its job's final container spec
matches the one it was started with; anything else (a skipped job, a mount that changed,
a failed start) falls back to a cold start. Whatever is left unused is removed when the
run ends.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

from chalicelib.errors import ContainerOpsError
from chalicelib.launch.base import ContainerRef, ContainerSpec, Launcher

HOLD_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class Held:
    spec: ContainerSpec  # without env: that comes at release
    container: Future[ContainerRef]

    def matches(self, spec: ContainerSpec) -> bool:
        return replace(spec, env={}) == self.spec


class HeldContainers:
    def __init__(self, launcher: Launcher, parallel_starts: int = 2) -> None:
        self._launcher = launcher
        self._pool = ThreadPoolExecutor(max_workers=parallel_starts, thread_name_prefix="hold")
        self._held: dict[str, Held] = {}

    def hold(self, job: str, spec: ContainerSpec) -> None:
        """Start a held container for `job` in the background, unless one is already coming."""
        if job in self._held or not self._launcher.can_hold(spec.env):
            return
        bare = replace(spec, env={})
        self._held[job] = Held(bare, self._pool.submit(self._launcher.start_held, bare))

    def take(self, job: str) -> Held | None:
        return self._held.pop(job, None)

    def discard(self, job: str) -> None:
        held = self._held.pop(job, None)
        if held is not None:
            self._pool.submit(remove_held, self._launcher, held)

    def close(self) -> None:
        """Remove every container still held (waiting for starts still in flight)."""
        for job in list(self._held):
            self.discard(job)
        self._pool.shutdown(wait=True)


def remove_held(launcher: Launcher, held: Held) -> None:
    try:
        launcher.remove(held.container.result(timeout=HOLD_TIMEOUT_SECONDS))
    except (ContainerOpsError, TimeoutError):
        pass  # it never started, or the engine is gone: the resume sweep removes leftovers
