"""A fan-out job's outputs for later jobs: each declared output as a JSON list in instance
order, written as a file in the run's workspace and, when it is small enough, kept as an
output value too (issue 12, "the aggregate's size").

The rule, one for both drivers:
- Every output the group aggregates (`fanout.output_keys`) is written, whatever its size, to
  `/workspace/.containerops/fanout/<job>/<KEY>.json`: one JSON list, entry i the value
  instance i reported (a string), null where it reported none or did not do its work. The
  group's `CO_LISTS_DIR` output names that folder.
- The same list is also the output `KEY`, read by `${{ jobs.<job>.outputs.KEY }}`, when it
  fits one output value (32 KiB) and the group's inline outputs stay within a record's
  (256 KiB), taken in key order. A list that does not fit is in its file only, and
  `CO_LISTS_TOO_LARGE` names it; a job that reads it inline fails before it starts, saying
  where its file is (`too_large_reference`). The group does not fail for it: its instances
  did their work, and a later job can read the file.
- A list of more instances than any 32 KiB list can hold (6,554 and more: `[null,…]` alone
  is too long) is refused at validation when a job reads it inline.

Why a file: an output value travels in `CO_DATA`, an environment variable, where Linux caps
one string at 128 KiB and ECS a task's overrides at 8 KiB; 10,000 shards' test counts are
about 50 KB. The workspace carries any size, on both drivers, and every later job mounts it.

The lists are streamed: the instances are read in index order and each list's file is
written as they come, so the group's end holds one instance's outputs and at most one
output value's worth of each inline list, never the whole group.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import IO, Protocol

from chalicelib.domain.fanout import (
    INSTANCES_OUTPUT,
    LISTS_DIR_OUTPUT,
    TOO_LARGE_OUTPUT,
    list_file,
    lists_folder,
)
from chalicelib.domain.protocol import MAX_OUTPUT_VALUE_BYTES, MAX_OUTPUTS_BYTES, WORKSPACE_MOUNT


class ListFiles(Protocol):
    """Where a driver keeps the files of a group's lists: the run's workspace."""

    def open(self, relative_path: str) -> IO[str]:
        """A new text file at `relative_path` under the workspace (folders made as needed),
        open for writing, readable by every job of the run once closed."""


@dataclass(frozen=True)
class Aggregate:
    """The group's outputs for later jobs (inline lists, counts, the lists' folder) and the
    outputs whose list is in its file only."""

    outputs: dict[str, str]
    too_large: tuple[str, ...] = ()


@dataclass
class _InlineList:
    """A list's text while it still fits one output value; dropped once it does not."""

    limit: int
    parts: list[str] = field(default_factory=lambda: ["["])
    size: int = 1
    fits: bool = True

    def add(self, entry: str) -> None:
        if not self.fits:
            return
        self.size += len(entry.encode())
        if self.size + 1 > self.limit:  # with the closing bracket
            self.fits, self.parts = False, []
            return
        self.parts.append(entry)

    def text(self) -> str:
        return "".join(self.parts) + "]"


def aggregate_lists(
    job: str, keys: Sequence[str], count: int, counted: Mapping[str, str],
    instances: Iterable[tuple[int, Mapping[str, str]]], files: ListFiles, *,
    value_limit: int = MAX_OUTPUT_VALUE_BYTES, total_limit: int = MAX_OUTPUTS_BYTES,
) -> Aggregate:
    """The outputs of a group of `count` instances: `counted` (its counting outputs), its
    lists' folder and the lists that fit inline, each key's list written to its file as it
    goes. `instances`: (index, outputs) of the instances that did their work, in increasing
    index order (an index out of order or out of range is passed over)."""
    outputs = dict(counted)
    if not keys:
        return Aggregate(outputs)
    inline = {key: _InlineList(value_limit) for key in keys}
    with ExitStack() as opened:
        streams = {key: opened.enter_context(files.open(list_file(job, key))) for key in keys}

        def put(index: int, values: Mapping[str, str]) -> None:
            separator = "," if index else ""
            for key in keys:
                value = values.get(key)
                entry = separator + ("null" if value is None else json.dumps(value, ensure_ascii=False))
                streams[key].write(entry if index else "[" + entry)
                inline[key].add(entry)

        following = 0
        for index, values in instances:
            if index < following or index >= count:
                continue
            for gap in range(following, index):
                put(gap, {})
            put(index, values)
            following = index + 1
        for gap in range(following, count):
            put(gap, {})
        for stream in streams.values():
            stream.write("]" if count else "[]")
    outputs[LISTS_DIR_OUTPUT] = f"{WORKSPACE_MOUNT}/{lists_folder(job)}"
    total = sum(len(key) + len(value.encode()) for key, value in outputs.items())
    too_large: list[str] = []
    kept: dict[str, str] = {}
    for key in keys:
        listed = inline[key]
        if listed.fits and total + len(key) + listed.size + 1 <= total_limit:
            kept[key] = listed.text()
            total += len(key) + listed.size + 1
        else:
            too_large.append(key)
    if too_large:
        outputs[TOO_LARGE_OUTPUT] = ",".join(too_large)
    return Aggregate({**kept, **outputs}, tuple(too_large))


def too_large_reference(job: str, key: str, outputs: Mapping[str, str]) -> str | None:
    """Why `${{ jobs.<job>.outputs.<key> }}` cannot be read inline: its list is in its file
    only (None when it can be read, or is no list at all)."""
    if key not in outputs.get(TOO_LARGE_OUTPUT, "").split(","):
        return None
    count = outputs.get(INSTANCES_OUTPUT, "")
    instances = f"{int(count):,}" if count.isdigit() else "?"
    return (f"output {key} of job '{job}' is the list of its {instances} "
            f"instances, too large to be an output value ({MAX_OUTPUT_VALUE_BYTES:,} bytes); it is in "
            f"the workspace as {WORKSPACE_MOUNT}/{list_file(job, key)} "
            f"(${{{{ jobs.{job}.outputs.{LISTS_DIR_OUTPUT} }}}}/{key}.json)")
