"""The cross-field rules of fan-out (`matrix`, `shards` and their settings), on the outline.

`validation` asks these for each job and for each `matrix.*` and `jobs.X.instances[N]`
reference, so their problems come with the schema's, each with its path and in words.
The expansion is made from the raw document (`expansion_of_outline`), tolerant of the
pieces the schema check already refuses. Decisions: an axis name follows the rule of a
data key (it is read as `matrix.<name>`); values are compared as text, so `1` and `'1'`
are the same value; `allowed_failures` equal to the instance count is allowed (every
instance may fail), over it is not; a fan-out job may not set CO_INSTANCE_* or CO_SHARD_* in
its `env` or through a data key (each instance's own would overwrite it; a plain job may).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from chalicelib.domain.expressions import Reference, as_text
from chalicelib.domain.fanout import (
    INSTANCE_COUNT_VARIABLE,
    INSTANCE_INDEX_VARIABLE,
    LISTS_DIR_OUTPUT,
    MAX_COMBINATIONS,
    MAX_INSTANCES,
    SHARD_COUNT_VARIABLE,
    SHARD_INDEX_VARIABLE,
    Expansion,
    smallest_list_bytes,
)
from chalicelib.domain.models import KEY_PATTERN, PATTERN_IN_WORDS
from chalicelib.domain.outline import JobOutline
from chalicelib.domain.protocol import MAX_OUTPUT_VALUE_BYTES, variable_for_key
from chalicelib.errors import Problem

_ENTRY_LISTS = ("include", "exclude")
INSTANCE_VARIABLES = frozenset({INSTANCE_INDEX_VARIABLE, INSTANCE_COUNT_VARIABLE, SHARD_INDEX_VARIABLE,
                                SHARD_COUNT_VARIABLE})


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _axes(matrix: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    return [
        (str(name), [value for value in values if _is_scalar(value)])
        for name, values in matrix.items()
        if name not in _ENTRY_LISTS and isinstance(values, list)
    ]


def _entries(matrix: dict[str, Any], name: str) -> list[dict[str, Any]]:
    entries = matrix.get(name)
    return [entry for entry in entries if isinstance(entry, dict)] if isinstance(entries, list) else []


def expansion_of_outline(job: JobOutline) -> Expansion | None:
    """The job's instances as the document describes them; None for a job that does not fan out."""
    if not job.fans_out or (job.has_shards and job.shards is None):
        return None  # shards that are no count from 1: the schema says so
    if job.matrix is None:
        return Expansion(shards=job.shards, has_matrix=job.has_matrix)
    return Expansion(_axes(job.matrix), _entries(job.matrix, "include"),
                     _entries(job.matrix, "exclude"), job.shards)


def fan_out_problems(job: JobOutline) -> Iterator[Problem]:
    """Every problem of the job's fan-out: its matrix, its size, and its settings."""
    if not job.fans_out:
        for key in job.fan_out_settings:
            yield Problem(f"{job.path}.{key}", f"{key} applies to a fan-out job only: give job "
                                               f"'{job.name}' a matrix or shards")
        return
    if job.matrix is not None:
        yield from _matrix_problems(job, job.matrix)
    yield from _instance_variable_problems(job)
    expansion = expansion_of_outline(job)
    if expansion is None:
        return
    where = f"{job.path}.matrix" if job.has_matrix else f"{job.path}.shards"
    if expansion.too_large_to_exclude:
        yield Problem(where, f"job '{job.name}' has {expansion.product_size:,} combinations before "
                             f"exclude; the limit is {MAX_COMBINATIONS:,}")
        return
    if expansion.size > MAX_INSTANCES:
        yield Problem(where, f"job '{job.name}' expands to {expansion.size:,} instances; the limit "
                             f"is {MAX_INSTANCES:,}")
    elif job.matrix is not None and expansion.combinations == 0:
        yield Problem(where, _why_empty(job, expansion))
    else:
        yield from _allowed_failures_problems(job, expansion.size)


def _instance_variable_problems(job: JobOutline) -> Iterator[Problem]:
    # They would be overwritten by each instance's own: say so rather than ignore the value.
    for key in job.env:
        if key in INSTANCE_VARIABLES:
            yield Problem(f"{job.path}.env.{key}",
                          f"{key} is set by ContainerOps for each instance of a fan-out job")
    for key in job.data:
        if (variable := variable_for_key(str(key))) in INSTANCE_VARIABLES:
            yield Problem(f"{job.path}.data.{key}", f"data key '{key}' would set {variable}, which "
                                                    "ContainerOps sets for each instance of a fan-out job")


def _why_empty(job: JobOutline, expansion: Expansion) -> str:
    if expansion.product_size and expansion.exclude:
        return f"job '{job.name}' has no instances: exclude removes every combination of its matrix"
    return f"job '{job.name}' has no instances: its matrix has no axis with values and no include entry"


def _matrix_problems(job: JobOutline, matrix: dict[str, Any]) -> Iterator[Problem]:
    path = f"{job.path}.matrix"
    axes = [name for name in matrix if name not in _ENTRY_LISTS]
    for name, values in matrix.items():
        if name in _ENTRY_LISTS:
            continue
        if not re.fullmatch(KEY_PATTERN, str(name)):
            yield Problem(f"{path}.{name}", f"axis name '{name}' is not allowed: "
                                            f"{PATTERN_IN_WORDS[KEY_PATTERN]}")
        if not isinstance(values, list):
            continue  # the schema says it must be a list
        if not values:
            yield Problem(f"{path}.{name}", f"axis '{name}' has no values")
        seen: set[str] = set()
        for index, value in enumerate(values):
            if not _is_scalar(value):
                continue
            text = as_text(value)
            if text in seen:
                yield Problem(f"{path}.{name}[{index}]", f"axis '{name}' lists '{text}' twice")
            seen.add(text)
    for index, entry in enumerate(_sequence(matrix.get("exclude"))):
        for key in entry if isinstance(entry, dict) else ():
            if key not in axes:
                listed = ", ".join(axes) or "none"
                yield Problem(f"{path}.exclude[{index}].{key}",
                              f"exclude key '{key}' is no axis of the matrix (its axes: {listed})")
    for index, entry in enumerate(_sequence(matrix.get("include"))):
        if isinstance(entry, dict) and not entry:
            yield Problem(f"{path}.include[{index}]", "an include entry gives at least one value")


def _sequence(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _allowed_failures_problems(job: JobOutline, count: int) -> Iterator[Problem]:
    allowed = job.fan_out_settings.get("allowed_failures")
    if isinstance(allowed, int) and not isinstance(allowed, bool) and allowed > count:
        yield Problem(f"{job.path}.allowed_failures",
                      f"allowed_failures is {allowed:,}, more than the {count:,} instances of job "
                      f"'{job.name}'")


# --- references ------------------------------------------------------------------------

def matrix_reference_problems(job: JobOutline, path: str, reference: Reference) -> Iterator[Problem]:
    """`matrix.<name>`: only in a fan-out job's own data, env, if and mount sources, and
    naming one of its axes or include keys."""
    rest = reference.parts[1:]
    if len(rest) != 1 or reference.indexes:
        yield Problem(path, f"'{reference}' should look like matrix.<axis>")
        return
    if job.matrix is None:
        yield Problem(path, f"'{reference}': job '{job.name}' has no matrix")
        return
    expansion = expansion_of_outline(job)
    keys = expansion.keys() if expansion is not None else ()
    if rest[0] not in keys:
        listed = ", ".join(keys) or "none"
        yield Problem(path, f"'{reference}' names no axis or include key of the matrix of job "
                            f"'{job.name}' (it has: {listed})")


def instance_index_problems(source: JobOutline, path: str, reference: Reference) -> Iterator[Problem]:
    """`jobs.X.instances[N]`: X fans out and has an instance N."""
    index = reference.index_at(3)
    if index is None:
        yield Problem(path, f"'{reference}' should look like jobs.<job>.instances[<n>].outputs.<KEY>")
        return
    if not source.fans_out:
        yield Problem(path, f"'{reference}': job '{source.name}' does not fan out (no matrix or "
                            f"shards), so it has no instances")
        return
    expansion = expansion_of_outline(source)
    size = expansion.size if expansion is not None else 0
    if expansion is not None and 0 < size <= MAX_INSTANCES and index >= size:
        # (a fan-out of no instances, or too many, is reported at the job itself)
        yield Problem(path, f"'{reference}': job '{source.name}' has {size:,} instances "
                            f"(0 to {size - 1:,})")


def inline_list_problems(source: JobOutline, path: str, reference: Reference, key: str) -> Iterator[Problem]:
    """`jobs.X.outputs.KEY` of a fan-out job X: its list must be able to fit one output value.
    A list of more instances than `[null,null,…]` fits in is refused here rather than at run
    time, pointing to the file that holds it (engine.aggregate)."""
    expansion = expansion_of_outline(source)
    size = expansion.size if expansion is not None else 0
    if not 0 < size <= MAX_INSTANCES or smallest_list_bytes(size) <= MAX_OUTPUT_VALUE_BYTES:
        return
    yield Problem(path, f"'{reference}' is the list of the {size:,} instances of job '{source.name}', "
                        f"at least {smallest_list_bytes(size):,} bytes: more than one output value may "
                        f"be ({MAX_OUTPUT_VALUE_BYTES:,}); read its file instead, "
                        f"${{{{ jobs.{source.name}.outputs.{LISTS_DIR_OUTPUT} }}}}/{key}.json")
