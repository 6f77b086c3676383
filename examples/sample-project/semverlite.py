"""Parse, compare and bump semantic version strings such as ``1.4.0-rc.1``.

A deliberately small module: the sample project the ContainerOps CI example clones,
lints, tests, packages and releases.
"""

import re
from typing import NamedTuple

_VERSION = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)


class Version(NamedTuple):
    major: int
    minor: int
    patch: int
    prerelease: str = ""

    def __str__(self):
        core = f"{self.major}.{self.minor}.{self.patch}"
        return f"{core}-{self.prerelease}" if self.prerelease else core


def parse_version(text):
    """The Version written in `text`; a leading 'v' is allowed."""
    match = _VERSION.match(text.strip())
    if match is None:
        raise ValueError(f"not a semantic version: {text!r}")
    return Version(
        int(match["major"]), int(match["minor"]), int(match["patch"]), match["pre"] or ""
    )


def _prerelease_key(prerelease):
    # A release sorts after all of its pre-releases; numeric fields compare as numbers.
    if not prerelease:
        return (1, ())
    fields = tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in prerelease.split(".")
    )
    return (0, fields)


def compare_versions(left, right):
    """-1, 0 or 1 as version `left` is older than, equal to or newer than `right`."""
    a, b = parse_version(left), parse_version(right)
    key_a = (a.major, a.minor, a.patch, _prerelease_key(a.prerelease))
    key_b = (b.major, b.minor, b.patch, _prerelease_key(b.prerelease))
    return (key_a > key_b) - (key_a < key_b)


def bump(text, part):
    """The next version after `text`: part is 'major', 'minor' or 'patch'."""
    version = parse_version(text)
    if part == "major":
        return str(Version(version.major + 1, 0, 0))
    if part == "minor":
        return str(Version(version.major, version.minor + 1, 0))
    if part == "patch":
        return str(Version(version.major, version.minor, version.patch + 1))
    raise ValueError(f"unknown version part: {part!r}")
