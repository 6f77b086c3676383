"""The order component versions are listed in, shared by every store.

Version numbers are not text: 1.10.0 comes after 1.2.0, and a pre-release (1.0.0-rc1) before
its release. Stores sort with `version_order` after reading, since neither SQLite nor DynamoDB
orders keys this way.
"""

from __future__ import annotations

import re

_VERSION = re.compile(r"^(\d+(?:\.\d+)*)([-+].*)?$")


def version_order(version: str) -> tuple[tuple[int, ...], int, str]:
    """A sort key putting 1.2.0 before 1.10.0, and 1.0.0-rc1 before 1.0.0."""
    match = _VERSION.match(version)
    if match is None:
        return ((), 1, version)
    numbers = tuple(int(part) for part in match[1].split("."))
    suffix = match[2] or ""
    return (numbers + (0,) * (3 - len(numbers)), 0 if suffix.startswith("-") else 1, suffix)
