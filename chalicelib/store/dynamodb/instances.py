"""Fan-out instance records in the runs table, and the counts of their states.

An instance (`test.3`) is a job item of its run's partition under `INSTANCE#test#000003`
(keys.instance_sk), so its group's instances are one key range in index order and
`list_jobs` (JOB#) never reads them. The counts per state are one item per group,
`COUNTS#test`, one number attribute per state.

Why counters, and not a count by query: the run detail shows every group's counts on
each read (the run view polls it), and a Query with Select=COUNT is billed for every item
it counts, 10,000 instances being ~1,000 read units a poll; the counters are one GetItem.
The price is paid on writes, once per state change: a write that moves an instance to
another state is a transaction of the instance's Put (conditional on the state it moves
from, or on its absence when it is new) and an UpdateItem that ADDs 1 to the new state and
-1 to the old one, so the counts can never disagree with the records (2 items, billed
double as transactions are). A write that keeps the state (most saves of a running
instance) stays one conditional PutItem. An unconditional save reads the stored state
first and makes its write conditional on it; if another writer moved the instance in
between, it reads again (a bounded number of rounds). One group's counters are one item
that every state change of that group updates: DynamoDB takes ~1,000 writes a second on
one item, far above what a group's instances change state at, and a transaction conflict
on it is retried by the Backoff like any other.

Pages (see store/instance_pages.py) are key-range Queries after the last index given, with
the states as a FilterExpression (DynamoDB reads and bills the items filtered out too), a
phase whose states the counters say are empty being skipped. So a page of failed instances
reads the instances up to the last failed one, not every instance, and a page in index
order without a filter reads just the page. A state index (a GSI keyed by group and state)
would make every filtered page cost only its own items, at a second write per state
change and a change to the stack's table; the filter is enough at 10,000 instances.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.domain.states import JobState
from chalicelib.engine.records import JobRecord
from chalicelib.errors import Conflict, NotFound, StaleWrite
from chalicelib.store import messages
from chalicelib.store.base import check_instance_record
from chalicelib.store.dynamodb import items, keys
from chalicelib.store.dynamodb.boundary import (
    CONDITION_FAILED_REASON,
    cancellation_codes,
    condition_failed,
)
from chalicelib.store.dynamodb.calls import Calls
from chalicelib.store.dynamodb.models import JobItem
from chalicelib.store.dynamodb.sizes import check_outputs, check_record
from chalicelib.store.instance_pages import (
    ALL_STATES,
    InstanceOrder,
    InstancePage,
    phases,
    read_page,
)

# Rounds of an unconditional save whose instance other writers keep moving between its
# read and its write.
STATE_RACE_ROUNDS = 10
# Items a filtered page query evaluates per call: the filter drops most of them, so a
# call reads more than the page holds (about 400 KB of instance items, under the 1 MB cap).
FILTERED_PAGE_SIZE = 1_000


class _Outcome(Enum):
    WRITTEN = "written"
    REFUSED = "refused"  # not stored in the state the write was made conditional on


class Instances:
    def __init__(self, calls: Calls) -> None:
        self._calls = calls
        self._t = calls.tables

    def create(self, record: JobRecord) -> None:
        group, _ = check_instance_record(record)
        item = self._checked(record)
        if self._write(item, record, None, group) is _Outcome.REFUSED:
            raise StaleWrite(messages.instance_exists(record.run_id, record.name))

    def save(self, record: JobRecord, expected: JobState | None) -> None:
        group, _ = check_instance_record(record)
        item = self._checked(record)
        what = items.job_what(record.run_id, record.name)
        for race in range(STATE_RACE_ROUNDS):
            stored = expected if expected is not None else self._stored_state(item)
            if self._write(item, record, stored, group) is _Outcome.WRITTEN:
                return
            if expected is not None:
                raise StaleWrite(messages.stale_state(what, self._stored_state(item), expected))
            self._calls.backoff.pause(race)
        raise Conflict(f"{what} was moved by other writers {STATE_RACE_ROUNDS} times while it"
                       " was being saved; the save was given up, try again")

    def counts(self, run_id: str, job: str) -> dict[JobState, int]:
        return items.instance_counts(
            self._calls.get(self._t.counts, keys.run_pk(run_id), keys.counts_sk(job)))

    def page(self, run_id: str, job: str, states: Sequence[JobState] | None,
             order: InstanceOrder | str, cursor: str | None, limit: int) -> InstancePage:
        model = self._t.job

        def read(wanted: tuple[JobState, ...], after: int, n: int) -> list[JobRecord]:
            every = set(wanted) >= set(ALL_STATES)
            found = self._calls.query(
                model, keys.run_pk(run_id),
                model.sk.between(keys.instance_sk(job, after + 1), keys.last_instance_sk(job)),
                filter_condition=None if every else model.status.is_in(*(s.value for s in wanted)),
                limit=n, page_size=n if every else max(n, FILTERED_PAGE_SIZE),
            )
            return [items.job_record(item) for item in found]

        return read_page(phases(order, states), cursor, limit, read, self.counts(run_id, job))

    # --- writing ---------------------------------------------------------------------
    def _write(self, item: JobItem, record: JobRecord, stored: JobState | None,
               group: str) -> _Outcome:
        """Write the instance if it is stored in state `stored` (absent: None), with its
        group's counters moved along when its state changes."""
        model = type(item)
        condition: Condition = (model.pk.does_not_exist() if stored is None
                                else model.status == stored.value)
        what = items.job_what(record.run_id, record.name)
        if stored is record.status:
            try:
                self._calls.put(f"saving {what}", item, condition)
            except PutError as exc:
                if not condition_failed(exc):
                    raise
                return _Outcome.REFUSED
            return _Outcome.WRITTEN
        counters = self._t.counts(keys.run_pk(record.run_id), keys.counts_sk(group))
        moves = self._moves(record.status, stored)

        def save(transaction: TransactWrite) -> None:
            if stored is None:  # a new record: its group (and so its run) must exist
                transaction.condition_check(model, keys.run_pk(record.run_id),
                                            keys.job_sk(group), condition=model.pk.exists())
            transaction.save(item, condition=condition)
            transaction.update(counters, moves)

        try:
            self._calls.transact(f"saving {what}", save)
        except TransactWriteError as exc:
            codes = cancellation_codes(exc)  # condition checks first, then puts, then updates
            checks = 1 if stored is None else 0
            if checks and codes[:1] == [CONDITION_FAILED_REASON]:
                raise self._missing_group(record.run_id, group) from exc
            if codes[checks:checks + 1] == [CONDITION_FAILED_REASON]:
                return _Outcome.REFUSED
            raise
        return _Outcome.WRITTEN

    def _moves(self, new: JobState, old: JobState | None) -> list[Action]:
        attributes = self._t.counts.get_attributes()
        moves: list[Action] = [attributes[new.value].add(1)]
        if old is not None:
            moves.append(attributes[old.value].add(-1))
        return moves

    def _stored_state(self, item: JobItem) -> JobState | None:
        stored = self._calls.get(type(item), item.pk, item.sk)
        return None if stored is None else JobState(stored.status)

    def _missing_group(self, run_id: str, group: str) -> NotFound:
        run = self._calls.get(self._t.run, keys.run_pk(run_id), keys.RUN_SK)
        if run is None or run.creating is not None:
            return NotFound(messages.unknown_run(run_id))
        return NotFound(messages.unknown_group(run_id, group))

    def _checked(self, record: JobRecord) -> JobItem:
        what = items.job_what(record.run_id, record.name)
        check_outputs(what, record.outputs)
        item = items.job_item(self._t, record)
        check_record(what, item.serialize())
        return item
