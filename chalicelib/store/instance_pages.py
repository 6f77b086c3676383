"""Pages of fan-out instance records: their order, their cursor, and how a page is put
together from reads in instance order, the same way in every store.

A page is read in *phases*, each a set of states read in instance order. `index` order is
one phase (the states asked for, or all); `failed-first` is three: failed, then running,
then every other state (each cut down to the states asked for; an empty one is dropped),
which is the order the run view shows (design §4). A store gives one read: the records of
some states after an instance index, in index order, at most so many; so a page costs a
few index range scans (SQLite) or key-range queries (DynamoDB) however deep it is (no
OFFSET). A phase whose states hold no record by the group's counts is not read at all.

The cursor names the phase and the last instance index given, as opaque text (base64 of
JSON); it is only good for the same order and states (a cursor whose phase those do not
have is refused as a bad cursor, a ValueError, which the API answers 400).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from chalicelib.domain.states import JobState
from chalicelib.engine.records import JobRecord
from chalicelib.store import messages

# Every state in the order the enum lists them: the one order "the rest" is taken in.
ALL_STATES: tuple[JobState, ...] = tuple(JobState)


class InstanceOrder(StrEnum):
    INDEX = "index"
    FAILED_FIRST = "failed-first"


@dataclass(frozen=True)
class InstancePage:
    instances: list[JobRecord]
    next_cursor: str | None


# Reads the records of these states with an instance index > `after`, in index order, at
# most `limit` of them.
PhaseRead = Callable[[tuple[JobState, ...], int, int], list[JobRecord]]


def phases(order: InstanceOrder | str, states: Iterable[JobState] | None) -> list[tuple[JobState, ...]]:
    wanted = ALL_STATES if states is None else tuple(s for s in ALL_STATES if s in set(states))
    if not wanted:
        wanted = ALL_STATES  # no state asked for is every state, as an absent filter
    if InstanceOrder(order) is InstanceOrder.INDEX:
        return [wanted]
    first = (JobState.FAILED,), (JobState.RUNNING,)
    rest = tuple(s for s in ALL_STATES if s not in (JobState.FAILED, JobState.RUNNING))
    cut = [tuple(s for s in phase if s in wanted) for phase in (*first, rest)]
    return [phase for phase in cut if phase]


def clamp_limit(limit: int) -> int:
    return max(1, min(limit, messages.MAX_INSTANCES_PAGE))


def read_page(
    phase_list: Sequence[tuple[JobState, ...]], cursor: str | None, limit: int,
    read: PhaseRead, counts: Mapping[JobState, int] | None = None,
) -> InstancePage:
    """One page: up to `limit` records from where `cursor` left off, reading one record
    more than the page holds to know whether a next page exists."""
    limit = clamp_limit(limit)
    phase, after = (0, -1) if cursor is None else decode_cursor(cursor, len(phase_list))
    found: list[tuple[int, JobRecord]] = []
    while phase < len(phase_list) and len(found) <= limit:
        states = phase_list[phase]
        if counts is None or any(counts.get(state, 0) for state in states):
            records = read(states, after, limit + 1 - len(found))
            found.extend((phase, record) for record in records)
        phase, after = phase + 1, -1
    page = found[:limit]
    if len(found) <= limit or not page:
        return InstancePage([record for _, record in page], None)
    last_phase, last = page[-1]
    return InstancePage([record for _, record in page], encode_cursor(last_phase, _index(last)))


def merge_in_index_order(pieces: Iterable[list[JobRecord]], limit: int) -> list[JobRecord]:
    """The first `limit` of several index-ordered reads (one per state) taken together."""
    merged = sorted((record for piece in pieces for record in piece), key=_index)
    return merged[:limit]


def _index(record: JobRecord) -> int:
    if record.instance is None:
        raise ValueError(f"job record {record.name} of run {record.run_id} is no instance")
    return record.instance


def encode_cursor(phase: int, after: int) -> str:
    raw = json.dumps([phase, after], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, phase_count: int) -> tuple[int, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        phase, after = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise ValueError(messages.bad_instance_cursor(cursor)) from exc
    if (not isinstance(phase, int) or not isinstance(after, int) or isinstance(phase, bool)
            or isinstance(after, bool) or not 0 <= phase < phase_count or after < 0):
        raise ValueError(messages.bad_instance_cursor(cursor))
    return phase, after
