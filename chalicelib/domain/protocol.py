"""The component protocol (DESIGN §1): how a job's data goes in and its outputs come out.

Input: `CO_DATA` (pairs, shell-quoted, or one JSON object) plus a `CO_<KEY>` variable per
key. Output: `[COUT] KEY = VALUE` lines, split on the first `=`, last value wins; the
result rule; and the size limits that keep a noisy container from exhausting memory.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

COUT_MARKER = "[COUT]"
RESULT_KEY = "CO_RESULT"
RESERVED_VARIABLES = frozenset({"CO_DATA", "CO_RESULT", "CO_RUN_ID", "CO_JOB", "CO_ATTEMPT"})

# Where every job of a run finds the run's shared workspace, on either driver.
WORKSPACE_MOUNT = "/workspace"

MAX_OUTPUT_VALUE_BYTES = 32 * 1024
MAX_OUTPUTS_BYTES = 256 * 1024
MAX_LINE_BYTES = 64 * 1024
TRUNCATION_MARK = " [line truncated by containerops]"

DataFormat = Literal["pairs", "json"]


def variable_for_key(key: str) -> str:
    """The convenience variable that carries one data key: `git-url` → `CO_GIT_URL`."""
    return "CO_" + key.upper().replace("-", "_")


def encode_data(data: Mapping[str, str], data_format: DataFormat = "pairs") -> str:
    """The value of CO_DATA for a job's resolved data."""
    if data_format == "json":
        return json.dumps(dict(data), separators=(",", ":"), sort_keys=True)
    return " ".join(f"{key}={shlex.quote(value)}" for key, value in data.items())


def decode_pairs(text: str) -> dict[str, str]:
    """Parse a pairs-encoded CO_DATA string (what a component in Python would do)."""
    pairs: dict[str, str] = {}
    for word in shlex.split(text):
        key, sep, value = word.partition("=")
        if sep:
            pairs[key] = value
    return pairs


def data_variables(data: Mapping[str, str]) -> dict[str, str]:
    """The CO_<KEY> variables for the data, never one that would shadow a reserved name."""
    variables = {variable_for_key(key): value for key, value in data.items()}
    return {name: value for name, value in variables.items() if name not in RESERVED_VARIABLES}


# --- output --------------------------------------------------------------------------

class CoutLine(NamedTuple):
    """A `[COUT]` line: an output (key and value) or, when it has no `=`, a message.

    A named tuple rather than a frozen dataclass: one is made for every such line a job
    prints, and a tuple is made in a third of the time."""

    key: str | None
    value: str
    message: str = ""


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_LEGACY_OUTPUT = re.compile(r"^(CO_[A-Z0-9_]+)\s+(\S.*)$", re.DOTALL)


def parse_cout(line: str) -> CoutLine | None:
    """The `[COUT]` payload of a log line, or None when the line carries no marker."""
    index = line.find(COUT_MARKER)
    if index < 0:
        return None
    payload = line[index + len(COUT_MARKER):]
    if "\x1b" in payload:  # the search is much cheaper than the substitution
        payload = _ANSI.sub("", payload)
    payload = payload.strip()
    key, sep, value = payload.partition("=")
    key = key.strip()
    # No space inside: an identifier has none; else strip and split agree on what one is.
    if sep and key and (key.isidentifier() or len(key.split()) == 1):
        return CoutLine(key, value.strip())
    # Original components also print `[COUT] CO_XML_CONTENT <xml a="1"/>`: a CO_ key, a
    # space, then a value that may itself contain `=`.
    legacy = _LEGACY_OUTPUT.match(payload)
    if legacy:
        return CoutLine(key=legacy.group(1), value=legacy.group(2).strip())
    return CoutLine(key=None, value="", message=payload)


@dataclass
class OutputCollector:
    """Accumulates the outputs of one attempt, enforcing the size limits."""

    outputs: dict[str, str] = field(default_factory=dict)  # changed through add_line only
    reported_result: bool | None = None
    violation: str = ""
    # The bytes of the outputs, kept up to date: summed again on every line, they cost a job
    # printing many outputs more than everything else its log costs.
    _total_bytes: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        self._total_bytes = sum(len(value.encode()) for value in self.outputs.values())

    def add_line(self, line: str) -> CoutLine | None:
        cout = parse_cout(line)
        if cout is None or cout.key is None:
            return cout
        key, value = cout.key, cout.value
        if key.upper() == RESULT_KEY:
            self.reported_result = value.lower() == "true"
            return cout
        size = len(value.encode())
        if size > MAX_OUTPUT_VALUE_BYTES:
            self.violation = self.violation or (
                f"output {key} is {size} bytes; one output may hold at most "
                f"{MAX_OUTPUT_VALUE_BYTES} bytes"
            )
            return cout
        previous = self.outputs.get(key)
        total = self._total_bytes - (len(previous.encode()) if previous is not None else 0)
        if total + size > MAX_OUTPUTS_BYTES:
            self.violation = self.violation or (
                f"outputs exceed {MAX_OUTPUTS_BYTES} bytes in all at {key}"
            )
            return cout
        self.outputs[key] = value
        self._total_bytes = total + size
        return cout

    def total_bytes(self) -> int:
        return self._total_bytes


@dataclass(frozen=True)
class Verdict:
    succeeded: bool
    reason: str


def judge(
    exit_code: int, reported_result: bool | None, *, strict_result: bool = False,
    limit_violation: str = "",
) -> Verdict:
    """The success rule: exit 0 and no `CO_RESULT = false` (and a result if strict)."""
    if exit_code != 0:
        suffix = " after reporting CO_RESULT = true" if reported_result else ""
        return Verdict(False, f"container exited with code {exit_code}{suffix}")
    if reported_result is False:
        return Verdict(False, "component reported CO_RESULT = false")
    if limit_violation:
        return Verdict(False, limit_violation)
    if reported_result is None and strict_result:
        return Verdict(False, "component printed no CO_RESULT line (strict_result)")
    return Verdict(True, "")


# --- lines ---------------------------------------------------------------------------

@dataclass(frozen=True)
class AssembledLine:
    text: str
    source_time: str
    truncated: bool
    raw_bytes: int = 0  # bytes of output the line took, its line break included


class LineAssembler:
    """Joins output chunks into lines, cutting any line at MAX_LINE_BYTES.

    Memory stays bounded by the limit whatever the container prints: the rest of an
    over-long line is dropped as it arrives.
    """

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._max = max_line_bytes
        self._parts: list[bytes] = []
        self._size = 0
        self._truncated = False
        self._source_time = ""
        self._raw = 0

    def feed(self, source_time: str, data: bytes) -> Iterator[AssembledLine]:
        start = 0
        while start < len(data):
            newline = data.find(b"\n", start)
            end = len(data) if newline < 0 else newline
            self._keep(source_time, data[start:end])
            if newline < 0:
                return
            self._raw += 1
            yield self._finish()
            start = newline + 1

    def flush(self) -> Iterator[AssembledLine]:
        if self._parts or self._truncated:
            yield self._finish()

    def _keep(self, source_time: str, piece: bytes) -> None:
        if not self._parts and not self._truncated:
            self._source_time = source_time
        self._raw += len(piece)
        room = self._max - self._size
        if len(piece) > room:
            piece = piece[:room]
            self._truncated = True
        if piece:
            self._parts.append(piece)
            self._size += len(piece)

    def _finish(self) -> AssembledLine:
        text = b"".join(self._parts).decode("utf-8", errors="replace").rstrip("\r")
        line = AssembledLine(
            text=text + TRUNCATION_MARK if self._truncated else text,
            source_time=self._source_time,
            truncated=self._truncated,
            raw_bytes=self._raw,
        )
        self._parts, self._size, self._truncated, self._source_time = [], 0, False, ""
        self._raw = 0
        return line
