"""Fan-out: the instances of a job with a `matrix` and/or `shards` (DESIGN §5, issue 12).

A job is a fan-out job when it has `matrix` or `shards`. Its instances are numbered 0..N-1:
the product of the matrix's axes (first axis slowest, last fastest), minus every
combination an `exclude` entry matches (each key of the entry has that value, compared as
text), then each `include` entry as one more combination, in order; with `shards: S` each
combination is split into S shards (instance = combination * S + shard), and without a
matrix the S shards alone. Values are kept as text (`as_text`: `true`, `3.5`, `7`). An
include entry gives its own keys (readable as `matrix.<key>`); an axis it does not give
reads as empty text.

`expand` is a Sequence computing an instance from its index, so 10,000 instances cost a few
small tuples. Decisions taken here: a matrix with no axes has no product (only its includes
are combinations); with an `exclude`, the kept product positions are found by one scan of
the product, so the product itself is bounded (`MAX_COMBINATIONS` before exclude) and the
positions kept in a compact array; validation reports a larger product in words.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from math import prod
from typing import Any, overload

from chalicelib.domain.expressions import as_text
from chalicelib.domain.models import MAX_INSTANCES as MAX_INSTANCES
from chalicelib.domain.models import Job

# What a fan-out job's record offers later jobs beyond its declared outputs (each a JSON
# list in instance order): the instance count and how many succeeded, failed, were skipped;
# the workspace folder holding every declared output's list as a file (<KEY>.json), and the
# outputs whose list is in that file only, too large to be an output value (comma-separated).
INSTANCES_OUTPUT = "CO_INSTANCES"
SUCCEEDED_OUTPUT = "CO_INSTANCES_SUCCEEDED"
FAILED_OUTPUT = "CO_INSTANCES_FAILED"
SKIPPED_OUTPUT = "CO_INSTANCES_SKIPPED"
LISTS_DIR_OUTPUT = "CO_LISTS_DIR"
TOO_LARGE_OUTPUT = "CO_LISTS_TOO_LARGE"
GROUP_OUTPUTS = (INSTANCES_OUTPUT, SUCCEEDED_OUTPUT, FAILED_OUTPUT, SKIPPED_OUTPUT, LISTS_DIR_OUTPUT,
                 TOO_LARGE_OUTPUT)

# Where a group's lists are written, under the run's shared workspace (protocol.WORKSPACE_MOUNT).
LISTS_FOLDER = ".containerops/fanout"


def lists_folder(job: str) -> str:
    """The folder of a group's list files, relative to the workspace: `.containerops/fanout/<job>`."""
    return f"{LISTS_FOLDER}/{job}"


def list_file(job: str, key: str) -> str:
    """One output's list file, relative to the workspace."""
    return f"{lists_folder(job)}/{key}.json"


def smallest_list_bytes(count: int) -> int:
    """The fewest bytes a JSON list of `count` values can take (every value null): `[null,…]`."""
    return 5 * count + 1 if count else 2

# What each instance's container gets, beyond a plain job's variables.
INSTANCE_INDEX_VARIABLE = "CO_INSTANCE_INDEX"
INSTANCE_COUNT_VARIABLE = "CO_INSTANCE_COUNT"
SHARD_INDEX_VARIABLE = "CO_SHARD_INDEX"
SHARD_COUNT_VARIABLE = "CO_SHARD_COUNT"

# The product of the axes before `exclude` may not exceed this: finding what `exclude`
# keeps means looking at each combination once.
MAX_COMBINATIONS = 10 * MAX_INSTANCES


@dataclass(frozen=True)
class Instance:
    """One instance of a fan-out job: its index, its matrix values (axis or include key ->
    text) and, when the job has shards, its shard and the shard count."""

    index: int
    values: Mapping[str, str]
    shard: int | None
    shard_count: int | None


def is_fan_out(job: Job) -> bool:
    return job.matrix is not None or job.shards is not None


def fails_fast(job: Job) -> bool:
    """Whether the job's instances stop once more failed than allowed (the default)."""
    return job.fail_fast is not False


def allowed_failure_count(allowed: int | str | None, count: int) -> int:
    """How many of `count` instances may fail: a count as is, a percentage of `count`
    rounded down; 0 when unset."""
    if allowed is None or isinstance(allowed, bool):
        return 0
    if isinstance(allowed, int):
        return allowed
    # integer arithmetic on the written digits: '33.3%' of 1,000 is 333, never 332.99...
    whole, _, fraction = allowed.removesuffix("%").partition(".")
    scale: int = 10 ** len(fraction)
    return (int(whole) * scale + int(fraction or 0)) * count // (100 * scale)


def _text_values(values: Sequence[Any]) -> tuple[str, ...]:
    return tuple(as_text(value) for value in values)


def _text_entry(entry: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((str(key), as_text(value)) for key, value in entry.items())


class Expansion(Sequence[Instance]):
    """The instances of a fan-out, computed from their index (plain data in, so validation
    can expand the raw document before a model exists)."""

    def __init__(
        self,
        axes: Sequence[tuple[str, Sequence[Any]]] = (),
        include: Sequence[Mapping[str, Any]] = (),
        exclude: Sequence[Mapping[str, Any]] = (),
        shards: int | None = None,
        *,
        has_matrix: bool = True,
    ) -> None:
        self.axes: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
            (name, _text_values(values)) for name, values in axes
        )
        self.include = tuple(_text_entry(entry) for entry in include)
        self.exclude = tuple(_text_entry(entry) for entry in exclude)
        self.shards = shards
        self.has_matrix = has_matrix
        self.product_size = prod(len(values) for _, values in self.axes) if self.axes else 0
        self._kept: array[int] | None = None
        if self.exclude and self.product_size <= MAX_COMBINATIONS:
            self._kept = array("L", self._scan_kept())
        self.kept_product = self.product_size if self._kept is None else len(self._kept)
        # without a matrix, the shards alone are the instances of one combination
        self.combinations = self.kept_product + len(self.include) if has_matrix else 1
        self._per_combination = shards or 1
        # the instance count; `len` as well when it fits (validation reads `size`, never `len`,
        # so a document that asks for 10**30 instances gets its problem, not an OverflowError)
        self.size = self.combinations * self._per_combination if (has_matrix or shards) else 0
        self._length = min(self.size, sys.maxsize)

    @property
    def too_large_to_exclude(self) -> bool:
        """An `exclude` over a product larger than MAX_COMBINATIONS (not expanded)."""
        return bool(self.exclude) and self.product_size > MAX_COMBINATIONS

    def _scan_kept(self) -> Iterator[int]:
        names = [name for name, _ in self.axes]
        for position, combination in enumerate(product(*(values for _, values in self.axes))):
            values = dict(zip(names, combination, strict=True))
            if not any(all(values.get(k) == v for k, v in entry) for entry in self.exclude):
                yield position

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> Instance: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Instance]: ...

    def __getitem__(self, index: int | slice) -> Instance | Sequence[Instance]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._length))]
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError(f"instance {index} of {self._length}")
        combination, shard = divmod(index, self._per_combination)
        return Instance(
            index=index,
            values=self.values_of(combination) if self.has_matrix else {},
            shard=shard if self.shards is not None else None,
            shard_count=self.shards,
        )

    def values_of(self, combination: int) -> dict[str, str]:
        """The matrix values of combination `combination` (0..combinations-1)."""
        if combination >= self.kept_product:
            entry = self.include[combination - self.kept_product]
            return {**{name: "" for name, _ in self.axes}, **dict(entry)}
        position = combination if self._kept is None else self._kept[combination]
        values: dict[str, str] = {}
        for name, axis in reversed(self.axes):  # the last axis changes fastest
            position, at = divmod(position, len(axis))
            values[name] = axis[at]
        return {name: values[name] for name, _ in self.axes}

    def keys(self) -> tuple[str, ...]:
        """Every name `matrix.<name>` may read: the axes, then the include entries' own keys."""
        names = dict.fromkeys(name for name, _ in self.axes)
        for entry in self.include:
            names.update(dict.fromkeys(key for key, _ in entry))
        return tuple(names)


def expansion_of(job: Job) -> Expansion:
    if job.matrix is None:
        return Expansion(shards=job.shards, has_matrix=False)
    return Expansion(job.matrix.axes(), job.matrix.include, job.matrix.exclude, job.shards)


def expand(job: Job) -> Sequence[Instance]:
    """The job's instances in order (empty for a plain job, which is no fan-out)."""
    return expansion_of(job)


def instance_count(job: Job) -> int:
    """How many instances the job runs: 1 for a plain job."""
    return len(expansion_of(job)) if is_fan_out(job) else 1
