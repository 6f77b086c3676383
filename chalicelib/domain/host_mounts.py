"""Which host folders a job may mount: the operator's roots, never the container engine's socket.

DESIGN §6: a container gets no host path but those an operator allowed. `containerops serve`
is given roots (`--allow-mount DIR`, repeatable, or CONTAINEROPS_ALLOW_MOUNTS); a mount whose
source is outside every root is refused, with the path and the reason. `containerops run` on
one's own machine (no roots: `MountPolicy.own_account`) allows what the user's own account
could open itself, so a workflow file from elsewhere cannot use the engine (which runs as
root) to reach `/root` or `/etc/shadow`. Under either policy the engine's socket, or a folder
holding it, is never mounted: it would hand the container the whole host.

A source is judged by its real path (`os.path.realpath`: every symlink followed, `..` taken
after the link it follows, as the kernel does), and a root by its own real path, taken once
when the policy is made; a path is under a root when it is the root or below it component by
component (`/srv/data2` is not under `/srv/data`). The admitted mount carries the real path,
which is what the engine is given: a link swapped after the check cannot redirect it to
another place. (A folder inside a root replaced by a link between the check and the engine's
mount can, for that instant; whoever can write inside a root can do that, so allow only roots
that the people writing definitions may not change behind the server's back.)

Checked twice, in one place: at validation, for sources written as plain text (the API's
`WorkflowService`, `containerops run`), and just before launch for every source, once its
expressions are resolved (`engine.rules.decide_ready_job`); the Docker launcher refuses the
socket once more as a backstop (`exposes_engine_socket`). `containerops validate` and `load`
judge no mount: which folders may be mounted is the runner's to say, not the definition's.
This module reads the host's file system (real paths, access rights) and nothing else.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from chalicelib.domain.expressions import ExpressionError, parse_template
from chalicelib.domain.models import Workflow
from chalicelib.errors import Problem

# Where the Docker engine's API socket usually is (/var/run is mostly a link to /run).
ENGINE_SOCKET_PATHS = ("/var/run/docker.sock", "/run/docker.sock")
ENGINE_SOCKET_NAME = "docker.sock"
ALLOW_MOUNT_HINT = "the operator allows a folder with `containerops serve --allow-mount DIR`"

Access = Callable[[str, int], bool]


@dataclass(frozen=True)
class MountAdmitted:
    source: str  # the real path to give the engine


@dataclass(frozen=True)
class MountRefused:
    reason: str


MountVerdict = MountAdmitted | MountRefused


def _real(path: str) -> str:
    return os.path.realpath(path)


def is_within(path: str, root: str) -> bool:
    """Whether `path` is `root` or below it, component by component (both normalised)."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def exposes_engine_socket(path: str, *, on_host: bool = True,
                          sockets: Iterable[str] = ENGINE_SOCKET_PATHS) -> bool:
    """Whether mounting `path` would give a container the engine's socket: the socket itself
    (by its known paths or its name) or, on the host, a folder above it. `on_host=False`
    judges a path inside the container (a target), taken as written."""
    candidates = {posixpath.normpath(path)}
    known = set(sockets)
    if on_host:
        candidates.add(_real(path))
        known |= {_real(socket) for socket in known}
    for candidate in candidates:
        if posixpath.basename(candidate) == ENGINE_SOCKET_NAME or candidate in known:
            return True
        if on_host and any(is_within(socket, candidate) for socket in known):
            return True
    return False


@dataclass(frozen=True)
class MountPolicy:
    """`roots`: the real paths of the folders the operator allowed; None: whatever this
    account can open (`containerops run` on one's own machine). `access` is `os.access`,
    injected so the account rule can be tested by an account that can open everything."""

    roots: tuple[str, ...] | None
    engine_sockets: tuple[str, ...] = ENGINE_SOCKET_PATHS
    access: Access = os.access

    @classmethod
    def allowing(cls, folders: Iterable[str | Path],
                 engine_sockets: Iterable[str] = ()) -> MountPolicy:
        """The roots of `containerops serve` (a relative one is taken from the working
        folder); ValueError for one that is not a folder. No folder: no host mount at all."""
        roots = []
        for folder in folders:
            real = _real(str(folder))
            if not os.path.isdir(real):
                raise ValueError(f"{folder} is not a folder on this machine")
            roots.append(real)
        return cls(tuple(dict.fromkeys(roots)), (*ENGINE_SOCKET_PATHS, *engine_sockets))

    @classmethod
    def own_account(cls, engine_sockets: Iterable[str] = (), access: Access = os.access) -> MountPolicy:
        return cls(None, (*ENGINE_SOCKET_PATHS, *engine_sockets), access)

    def describe(self) -> str:
        """One line for the server's start-up log."""
        if self.roots is None:
            return "host mounts: whatever this account can open, but the engine's socket"
        if not self.roots:
            return f"host mounts: none allowed ({ALLOW_MOUNT_HINT})"
        return "host mounts allowed under: " + ", ".join(self.roots)

    def judge(self, source: str, *, read_only: bool = True) -> MountVerdict:
        """The real path to mount, or why `source` may not be mounted (naming it)."""
        if not source.startswith("/"):
            return MountRefused(f"'{source}' is not an absolute host path")
        real = _real(source)
        shown = source if real in (source, source.rstrip("/")) else f"{source} (really {real})"
        if exposes_engine_socket(source, sockets=self.engine_sockets):
            return MountRefused(f"{shown} would give the container the Docker engine's socket,"
                                " which is never mounted: it controls the whole host")
        if self.roots is None:
            return self._by_account(shown, real, read_only)
        if not self.roots:
            return MountRefused(f"{shown} is not allowed: this server allows no host mounts;"
                                f" {ALLOW_MOUNT_HINT}")
        if not any(is_within(real, root) for root in self.roots):
            return MountRefused(f"{shown} is outside the folders this server allows mounting"
                                f" ({', '.join(self.roots)}); {ALLOW_MOUNT_HINT}")
        return MountAdmitted(real)

    def _by_account(self, shown: str, real: str, read_only: bool) -> MountVerdict:
        if not os.path.exists(real):
            return MountRefused(f"{shown} does not exist on this machine")
        wanted = os.R_OK | (os.X_OK if os.path.isdir(real) else 0) | (0 if read_only else os.W_OK)
        if not self.access(real, wanted):
            how = "read" if read_only else "read and write"
            return MountRefused(f"your account cannot {how} {shown}, so a job may not mount it"
                                " (the engine could: it runs as root)")
        return MountAdmitted(real)


NO_HOST_MOUNTS = MountPolicy(roots=())


def written_source(source: str) -> str | None:
    """The source if it is plain text (known before the run), None if an expression builds it."""
    try:
        template = parse_template(source)
    except ExpressionError:
        return None  # the definition's own validation reports it
    return source if all(isinstance(part, str) for part in template.parts) else None


def mount_problems(workflow: Workflow, policy: MountPolicy) -> list[Problem]:
    """The mounts a definition writes out in full that `policy` refuses, each at its path;
    the others wait for launch, once their expressions are resolved."""
    return list(_problems(workflow, policy))


def _problems(workflow: Workflow, policy: MountPolicy) -> Iterator[Problem]:
    for s, stage in enumerate(workflow.spec.stages):
        for a, action in enumerate(stage.actions):
            for j, job in enumerate(action.jobs):
                for m, mount in enumerate(job.mounts):
                    source = written_source(mount.source)
                    if source is None:
                        continue
                    verdict = policy.judge(source, read_only=mount.read_only)
                    if isinstance(verdict, MountRefused):
                        yield Problem(f"spec.stages[{s}].actions[{a}].jobs[{j}].mounts[{m}].source",
                                      verdict.reason)
