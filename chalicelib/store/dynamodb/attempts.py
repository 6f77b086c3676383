"""Attempts in the runs table, and the task index that finds an attempt by its container.

An attempt is an item of its run's partition (`RUN#<id>`, `ATTEMPT#<job>#<n>`). The task
index is one item per container, `TASK#<task id>` / `TASK`, naming the run, job and number
of the attempt that holds it. `find_attempt_by_container` reads it, then the attempt, both
strongly consistent: a GSI on container_id would be eventually consistent, and a task's
STOPPED event or first log batch can come within a second of the write that recorded it.

The index item is written in the same transaction as the attempt when the attempt's
container is set or changes, and only then. Every write of an attempt is conditional on the
container the writer believes is stored (`container_id = :c`, or absent), so the frequent
writes that keep it (log ingestion, the verdict) stay what they were: one conditional
PutItem, or the transaction that checks the job. When that condition refuses a write, the
stored attempt is read: its status decides a StaleWrite as before; otherwise its container
differs, and the write is made again, conditional on the container just read, in one
transaction with the new index item and the deletion of the old one (if it names this
attempt or is gone: another attempt may hold that task now, and then the write is made
once more without it). If a writer moved the container in between, another round begins.
As the index changes with the attempt, the two agree; still, a lookup checks that the
attempt it reaches holds the container asked for, so an index item that disagrees with its
attempt, however it came to be, finds nothing.
"""

from __future__ import annotations

from enum import Enum

from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from chalicelib.domain.states import AttemptState
from chalicelib.engine.records import AttemptRecord
from chalicelib.errors import Conflict, NotFound, StaleWrite
from chalicelib.store import messages
from chalicelib.store.base import container_task_id, holds_container
from chalicelib.store.dynamodb import items, keys
from chalicelib.store.dynamodb.boundary import (
    CONDITION_FAILED_REASON,
    cancellation_codes,
    condition_failed,
)
from chalicelib.store.dynamodb.calls import Calls
from chalicelib.store.dynamodb.models import AttemptItem, TaskItem
from chalicelib.store.dynamodb.sizes import check_outputs, check_record

# Rounds of a save whose container another writer keeps changing between its read and its
# write; each round means a container changed, which happens about once in an attempt's life.
CONTAINER_RACE_ROUNDS = 10


class _Outcome(Enum):
    WRITTEN = "written"
    REFUSED = "refused"  # the attempt is not stored with the container (or status) expected
    TASK_TAKEN = "task taken"  # the index item to delete names another attempt


class Attempts:
    def __init__(self, calls: Calls) -> None:
        self._calls = calls
        self._t = calls.tables

    def create_attempt(self, attempt: AttemptRecord) -> None:
        item = self._check_attempt(attempt)
        task = self._task_item(attempt)
        key = (attempt.run_id, attempt.job, attempt.number)

        def create(transaction: TransactWrite) -> None:
            self._check_job_exists(transaction, attempt)
            transaction.save(item, condition=self._t.attempt.pk.does_not_exist())
            if task is not None:
                transaction.save(task)

        try:
            self._calls.transact(f"creating {items.attempt_what(*key)}", create)
        except TransactWriteError as exc:
            codes = cancellation_codes(exc)
            if codes[:1] == [CONDITION_FAILED_REASON]:
                raise NotFound(messages.attempt_of_unknown_job(*key)) from exc
            if codes[1:2] == [CONDITION_FAILED_REASON]:
                raise Conflict(messages.attempt_exists(*key)) from exc
            raise

    def save_attempt(self, attempt: AttemptRecord, expected: AttemptState | None) -> None:
        item = self._check_attempt(attempt)
        if self._write(attempt, item, expected, attempt.container_id) is _Outcome.WRITTEN:
            return
        what = items.attempt_what(attempt.run_id, attempt.job, attempt.number)
        for race in range(CONTAINER_RACE_ROUNDS):
            stored = self._calls.get(self._t.attempt, item.pk, item.sk)
            if expected is not None and (stored is None or stored.status != expected.value):
                actual = None if stored is None else AttemptState(stored.status)
                raise StaleWrite(messages.stale_state(what, actual, expected))
            had = None if stored is None else stored.container_id
            outcome = self._write(attempt, item, expected, had, forget=self._given_up(had, attempt))
            if outcome is _Outcome.TASK_TAKEN:  # that task's index names another attempt now
                outcome = self._write(attempt, item, expected, had)
            if outcome is _Outcome.WRITTEN:
                return
            self._calls.backoff.pause(race)
        raise Conflict(f"{what} had its container changed by other writers {CONTAINER_RACE_ROUNDS}"
                       " times while it was being saved; the save was given up, try again")

    def get_attempt(self, run_id: str, job: str, number: int) -> AttemptRecord:
        item = self._calls.get(self._t.attempt, keys.run_pk(run_id), keys.attempt_sk(job, number))
        if item is None:
            raise NotFound(messages.unknown_attempt(run_id, job, number))
        return items.attempt_record(item)

    def list_attempts(self, run_id: str, job: str | None) -> list[AttemptRecord]:
        model = self._t.attempt
        found = self._calls.query(model, keys.run_pk(run_id),
                                  model.sk.startswith(keys.attempts_prefix(job)))
        attempts = [items.attempt_record(item) for item in found]
        attempts.sort(key=lambda a: (a.job, a.number))
        return attempts

    def list_every_attempt(self, run_id: str) -> list[AttemptRecord]:
        """The workflow jobs' attempts and the fan-out instances' (a second key range)."""
        model = self._t.attempt
        found = self._calls.query(model, keys.run_pk(run_id),
                                  model.sk.startswith(keys.INSTANCE_ATTEMPT_PREFIX))
        attempts = [*self.list_attempts(run_id, None), *map(items.attempt_record, found)]
        attempts.sort(key=lambda a: (a.job, a.number))
        return attempts

    def find_attempt_by_container(self, container_id: str) -> AttemptRecord | None:
        task_id = container_task_id(container_id)
        if not task_id:
            return None
        entry = self._calls.get(self._t.task, keys.task_pk(task_id), keys.TASK_SK)
        if entry is None:
            return None
        item = self._calls.get(self._t.attempt, keys.run_pk(entry.run_id),
                               keys.attempt_sk(entry.job, int(entry.number)))
        if item is None or not holds_container(item.container_id, container_id):
            return None  # an index item that disagrees with its attempt: trust the attempt
        return items.attempt_record(item)

    # --- writing ---------------------------------------------------------------------
    def _write(self, attempt: AttemptRecord, item: AttemptItem, expected: AttemptState | None,
               stored_container: str | None, forget: str | None = None) -> _Outcome:
        """Write the attempt if it is stored with `stored_container` (and `expected`), with
        its index item when that container is not the attempt's, and deleting the index
        item of task `forget` unless another attempt holds it. A conditional write that
        keeps the container is one PutItem; any other is a transaction, in which an
        unconditional write checks that the job exists (NotFound)."""
        model = self._t.attempt
        condition: Condition = (model.container_id.does_not_exist() if stored_container is None
                                else model.container_id == stored_container)
        if expected is not None:
            condition = (model.status == expected.value) & condition
        changed = stored_container != attempt.container_id
        task = self._task_item(attempt) if changed else None
        what = items.attempt_what(attempt.run_id, attempt.job, attempt.number)
        if expected is not None and task is None and forget is None:
            try:
                self._calls.put(f"saving {what}", item, condition)
            except PutError as exc:
                if not condition_failed(exc):
                    raise
                return _Outcome.REFUSED
            return _Outcome.WRITTEN

        def save(transaction: TransactWrite) -> None:
            if expected is None:
                self._check_job_exists(transaction, attempt)
            if forget is not None:
                self._forget_task(transaction, forget, attempt)
            transaction.save(item, condition=condition)
            if task is not None:
                transaction.save(task)

        try:
            self._calls.transact(f"saving {what}", save)
        except TransactWriteError as exc:
            # TransactWrite sends condition checks first, then deletes, then puts.
            codes = cancellation_codes(exc)
            checks = 0 if expected is not None else 1
            deletes = 0 if forget is None else 1
            if checks and codes[:1] == [CONDITION_FAILED_REASON]:
                raise NotFound(messages.attempt_of_unknown_job(
                    attempt.run_id, attempt.job, attempt.number)) from exc
            if codes[checks + deletes:checks + deletes + 1] == [CONDITION_FAILED_REASON]:
                return _Outcome.REFUSED
            if deletes and codes[checks:checks + 1] == [CONDITION_FAILED_REASON]:
                return _Outcome.TASK_TAKEN
            raise
        return _Outcome.WRITTEN

    def _task_item(self, attempt: AttemptRecord) -> TaskItem | None:
        task_id = container_task_id(attempt.container_id or "")
        if not task_id:
            return None
        return self._t.task(keys.task_pk(task_id), keys.TASK_SK, run_id=attempt.run_id,
                            job=attempt.job, number=attempt.number)

    @staticmethod
    def _given_up(had: str | None, attempt: AttemptRecord) -> str | None:
        """The task id whose index item goes when the attempt's container moves from `had`
        (None when it had none, or keeps the task under another spelling of its id)."""
        old = container_task_id(had or "")
        return old if old and old != container_task_id(attempt.container_id or "") else None

    def _forget_task(self, transaction: TransactWrite, task_id: str, attempt: AttemptRecord) -> None:
        model = self._t.task
        names_attempt = ((model.run_id == attempt.run_id) & (model.job == attempt.job)
                         & (model.number == attempt.number))
        transaction.delete(model(keys.task_pk(task_id), keys.TASK_SK),
                           condition=model.pk.does_not_exist() | names_attempt)

    def _check_attempt(self, attempt: AttemptRecord) -> AttemptItem:
        what = items.attempt_what(attempt.run_id, attempt.job, attempt.number)
        check_outputs(what, attempt.outputs)
        item = items.attempt_item(self._t, attempt)
        check_record(what, item.serialize())
        return item

    def _check_job_exists(self, transaction: TransactWrite, attempt: AttemptRecord) -> None:
        job = self._t.job
        transaction.condition_check(job, keys.run_pk(attempt.run_id), keys.job_sk(attempt.job),
                                    condition=job.pk.exists())
