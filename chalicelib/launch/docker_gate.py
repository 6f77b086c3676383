"""Held containers: started ahead of time, their process waiting at a gate until released.

A cold container start costs the engine 150 to 900 ms on a small machine; a job whose
container is already started when its predecessors end can begin in a few milliseconds.
Like an injected step entrypoint in Kubernetes-native CI, the gate is a static busybox,
mounted read-only, that runs `sh -c GATE_SCRIPT` in place of the image's entrypoint: it
reads one line from stdin, the job's environment as a base64-encoded list of
`export NAME='value'` lines, then `exec`s the image's own command. The
environment (CO_DATA and any secrets) travels only through the attach socket, never
through a file or the container's configuration.
"""

from __future__ import annotations

import base64
import re
import shlex
import struct
from collections.abc import Iterable, Mapping
from pathlib import Path

GATE_MOUNT = "/.containerops/busybox"
GATE_SCRIPT = (
    'IFS= read -r payload || exit 125; '
    f'eval "$(echo "$payload" | {GATE_MOUNT} base64 -d)" || exit 125; '
    'exec "$@"'
)
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
_SHELL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PT_INTERP = 3


def gate_entrypoint() -> list[str]:
    return [GATE_MOUNT, "sh", "-c", GATE_SCRIPT, "containerops-gate"]


def can_carry(names: Iterable[str]) -> bool:
    """Whether every variable name can pass through the gate's shell (`export NAME=`)."""
    return all(_SHELL_NAME.match(name) for name in names)


def release_line(env: Mapping[str, str]) -> bytes:
    script = "".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items())
    return base64.b64encode(script.encode()) + b"\n"


def find_static_busybox(candidates: tuple[str, ...] = BUSYBOX_CANDIDATES) -> str | None:
    """A statically linked busybox on this host (Debian's busybox-static), if there is one."""
    for candidate in candidates:
        if is_static_executable(Path(candidate)):
            return candidate
    return None


def is_static_executable(path: Path) -> bool:
    """An ELF64 little-endian executable with no program interpreter (no dynamic loader)."""
    try:
        with path.open("rb") as binary:
            header = binary.read(64)
            if len(header) < 64 or header[:4] != b"\x7fELF" or header[4] != 2 or header[5] != 1:
                return False
            (program_headers,) = struct.unpack_from("<Q", header, 32)
            entry_size, count = struct.unpack_from("<HH", header, 54)
            binary.seek(program_headers)
            table = binary.read(entry_size * count)
    except OSError:
        return False
    types = [struct.unpack_from("<I", table, i * entry_size)[0] for i in range(count)]
    return _PT_INTERP not in types
