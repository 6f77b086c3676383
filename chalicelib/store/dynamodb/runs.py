"""Runs and jobs in the runs table: creation, conditional state changes, reads.

A run and its jobs share one partition (`RUN#<id>`) with its attempts (those are written by
`attempts`). Every state change can be conditional (`expected=`): the condition is on the
stored `status`, so of two writers moving one record one wins and the other gets StaleWrite,
with the state that refused it read back for the sentence. Unconditional writes still refuse
a job of an unknown run through a ConditionCheck in the same transaction. `save_run` is an
UpdateItem of every attribute but `cancel_requested`.

A run is never seen half-made. Up to 99 jobs it is one transaction with its jobs. A bigger
run cannot be (a transaction holds 100 items), so its id is first claimed by a placeholder
run item (`attribute_not_exists`; no index keys, `creating` set, so it reads as missing),
the jobs follow in transactions of 100, and a last conditional update turns the placeholder
into the run. Until then `get_run`, `list_runs`, `list_jobs` and `get_job` show nothing of
it: a job item written this way carries the token too, and a read that meets one checks
that its run is whole. Of two creators of one id the claim decides: the loser gets Conflict
before it wrote anything. A creator that fails half-way deletes what it wrote; one that dies
half-way leaves a placeholder that keeps reading as missing (run ids are never reused).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from enum import StrEnum

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.domain.states import JobState, RunState
from chalicelib.engine.records import JobRecord, RunRecord
from chalicelib.errors import Conflict, NotFound, StaleWrite
from chalicelib.store import messages
from chalicelib.store.base import check_instance_record, is_instance_record
from chalicelib.store.dynamodb import items, keys
from chalicelib.store.dynamodb.boundary import (
    CONDITION_FAILED_REASON,
    cancellation_codes,
    condition_failed,
)
from chalicelib.store.dynamodb.calls import Calls
from chalicelib.store.dynamodb.models import JobItem, RunItem
from chalicelib.store.dynamodb.sizes import check_outputs, check_record

MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit for one TransactWriteItems


class Runs:
    def __init__(self, calls: Calls) -> None:
        self._calls = calls
        self._t = calls.tables

    # --- runs ------------------------------------------------------------------------
    def create_run(self, run: RunRecord, jobs: Sequence[JobRecord]) -> None:
        strays = sorted({job.run_id for job in jobs} - {run.id})
        if strays:
            raise ValueError(messages.run_names_other_runs(run.id, strays))
        twice = sorted(name for name, count in Counter(job.name for job in jobs).items() if count > 1)
        if twice:
            raise Conflict(messages.job_listed_twice(run.id, twice))
        run_item = items.run_item(self._t, run)
        check_record(f"run {run.id}", run_item.serialize())
        for job in jobs:
            if is_instance_record(job):
                check_instance_record(job)
            self._check_job(job)
        counted = _instance_counts(jobs)
        if len(jobs) + len(counted) < MAX_TRANSACTION_ITEMS:
            self._create_at_once(run_item, jobs, counted)
        else:
            self._create_in_batches(run, jobs, counted)

    def _create_at_once(self, run_item: RunItem, jobs: Sequence[JobRecord],
                        counted: dict[str, Counter[JobState]]) -> None:
        if not jobs:  # one conditional put: half the cost of a transaction
            try:
                self._calls.put(f"creating run {run_item.id}", run_item,
                                self._t.run.pk.does_not_exist())
            except PutError as exc:
                if not condition_failed(exc):
                    raise
                raise Conflict(messages.run_exists(run_item.id)) from exc
            return

        def create(transaction: TransactWrite) -> None:
            transaction.save(run_item, condition=self._t.run.pk.does_not_exist())
            for job in jobs:
                transaction.save(items.job_item(self._t, job))
            for group, counts in counted.items():
                transaction.save(items.counts_item(self._t, run_item.id, group, counts))

        try:
            self._calls.transact(f"creating run {run_item.id}", create)
        except TransactWriteError as exc:
            if cancellation_codes(exc)[:1] != [CONDITION_FAILED_REASON]:
                raise
            raise Conflict(messages.run_exists(run_item.id)) from exc

    def _create_in_batches(self, run: RunRecord, jobs: Sequence[JobRecord],
                           counted: dict[str, Counter[JobState]]) -> None:
        model, token = self._t.run, uuid.uuid4().hex
        placeholder = items.run_placeholder(self._t, run.id, token)
        try:
            self._calls.put(f"claiming run id {run.id}", placeholder, model.pk.does_not_exist())
        except PutError as exc:
            if not condition_failed(exc):
                raise
            raise Conflict(messages.run_exists(run.id)) from exc
        every: list[Model] = [items.job_item(self._t, job, creating=token) for job in jobs]
        every.extend(items.counts_item(self._t, run.id, group, counts, creating=token)
                     for group, counts in counted.items())
        written: list[Model] = []
        try:
            for start in range(0, len(every), MAX_TRANSACTION_ITEMS):
                batch = every[start:start + MAX_TRANSACTION_ITEMS]
                written.extend(batch)  # before the call: it may be applied and still fail
                self._calls.transact(f"creating jobs of run {run.id}", _saving(batch))
            self._make_whole(run, placeholder, token)
        except BaseException:
            self._abandon(placeholder, written)
            raise

    def _make_whole(self, run: RunRecord, placeholder: RunItem, token: str) -> None:
        """Turn the placeholder into the run. Refused only if this very update was applied
        and retried after its answer was lost (nobody else knows the id): then it is done."""
        model = self._t.run
        whole = [*items.run_actions(self._t, run), model.creating.remove()]
        try:
            self._calls.update(f"creating run {run.id}", placeholder, whole, model.creating == token)
        except UpdateError as exc:
            if not condition_failed(exc) or self._run_status(run.id) is None:
                raise

    def _abandon(self, placeholder: RunItem, written: Sequence[Model]) -> None:
        """Delete what a failed creation wrote, so its id may be used again; best effort (a
        placeholder left behind only keeps reading as missing)."""
        doomed: list[Model] = [*written, placeholder]
        try:
            for start in range(0, len(doomed), MAX_TRANSACTION_ITEMS):
                self._calls.transact(f"abandoning run {placeholder.id}",
                                     _deleting(doomed[start:start + MAX_TRANSACTION_ITEMS]))
        except Exception:  # the creation's own error is the one to report
            pass

    def get_run(self, run_id: str) -> RunRecord:
        item = self._calls.get(self._t.run, keys.run_pk(run_id), keys.RUN_SK)
        if item is None or item.creating is not None:
            raise NotFound(messages.unknown_run(run_id))
        return items.run_record(item)

    def save_run(self, run: RunRecord, expected: RunState | None) -> None:
        model = self._t.run
        check_record(f"run {run.id}", items.run_item(self._t, run).serialize())
        key = model(keys.run_pk(run.id), keys.RUN_SK)
        condition = None if expected is None else model.status == expected.value
        try:
            self._calls.update(f"saving run {run.id}", key, items.run_actions(self._t, run), condition)
        except UpdateError as exc:
            if expected is None or not condition_failed(exc):
                raise
            raise StaleWrite(messages.stale_state(
                f"run {run.id}", self._run_status(run.id), expected)) from exc

    def request_cancel(self, run_id: str) -> RunRecord:
        model = self._t.run
        item = model(keys.run_pk(run_id), keys.RUN_SK)
        try:
            self._calls.update(f"cancelling run {run_id}", item,
                               [model.cancel_requested.set(True)], self._whole_run(model))
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
            raise NotFound(messages.unknown_run(run_id)) from exc
        return items.run_record(item)

    def _run_status(self, run_id: str) -> RunState | None:
        item = self._calls.get(self._t.run, keys.run_pk(run_id), keys.RUN_SK)
        if item is None or item.creating is not None or item.status is None:
            return None
        return RunState(item.status)

    def _run_is_whole(self, run_id: str) -> bool:
        return self._run_status(run_id) is not None

    @staticmethod
    def _whole_run(model: type[RunItem]) -> Condition:
        whole: Condition = model.pk.exists() & model.creating.does_not_exist()
        return whole

    # --- jobs ------------------------------------------------------------------------
    def save_job(self, job: JobRecord, expected: JobState | None) -> None:
        item = self._check_job(job)
        what = items.job_what(job.run_id, job.name)
        if expected is not None:
            self._put_if_status(what, item, expected, JobState)
            return
        run = self._t.run

        def save(transaction: TransactWrite) -> None:
            transaction.condition_check(run, keys.run_pk(job.run_id), keys.RUN_SK,
                                        condition=self._whole_run(run))
            transaction.save(item)

        try:
            self._calls.transact(f"saving {what}", save)
        except TransactWriteError as exc:
            if cancellation_codes(exc)[:1] != [CONDITION_FAILED_REASON]:
                raise
            raise NotFound(messages.job_of_unknown_run(job.run_id, job.name)) from exc

    def get_job(self, run_id: str, name: str) -> JobRecord:
        item = self._calls.get(self._t.job, keys.run_pk(run_id), keys.job_sk(name))
        # A job written by a big run's creation is shown only once its run is whole.
        if (item is None or item.creating is not None) and not self._run_is_whole(run_id):
            raise NotFound(messages.unknown_run(run_id))
        if item is None:
            raise NotFound(messages.unknown_job(run_id, name))
        return items.job_record(item)

    def list_jobs(self, run_id: str) -> list[JobRecord]:
        model = self._t.job
        found = list(self._calls.query(model, keys.run_pk(run_id),
                                       model.sk.startswith(keys.JOB_PREFIX)))
        if any(item.creating is not None for item in found) and not self._run_is_whole(run_id):
            return []
        jobs = [items.job_record(item) for item in found]
        jobs.sort(key=lambda j: (j.stage, j.action, j.position, j.name))
        return jobs

    def _check_job(self, job: JobRecord) -> JobItem:
        what = items.job_what(job.run_id, job.name)
        check_outputs(what, job.outputs)
        item = items.job_item(self._t, job)
        check_record(what, item.serialize())
        return item

    # --- conditional state changes ---------------------------------------------------
    def _put_if_status(self, what: str, item: JobItem, expected: StrEnum,
                       state: type[StrEnum]) -> None:
        """Replace the record only while its stored status is `expected`, else StaleWrite
        naming the status that refused it (read back at once, consistently)."""
        model = type(item)
        try:
            self._calls.put(f"saving {what}", item, model.status == expected.value)
        except PutError as exc:
            if not condition_failed(exc):
                raise
            stored = self._calls.get(model, item.pk, item.sk)
            actual = None if stored is None else state(stored.status)
            raise StaleWrite(messages.stale_state(what, actual, expected)) from exc


def _instance_counts(jobs: Sequence[JobRecord]) -> dict[str, Counter[JobState]]:
    """The state counts of each group whose instances a new run is created with (a re-run
    copies the instances it reuses), for its counts item (see `instances`)."""
    counted: dict[str, Counter[JobState]] = {}
    for job in jobs:
        if job.group is not None:
            counted.setdefault(job.group, Counter())[job.status] += 1
    return counted


def _saving(batch: Sequence[Model]) -> Callable[[TransactWrite], None]:
    def save(transaction: TransactWrite) -> None:
        for item in batch:
            transaction.save(item)
    return save


def _deleting(batch: Sequence[Model]) -> Callable[[TransactWrite], None]:
    def delete(transaction: TransactWrite) -> None:
        for item in batch:
            transaction.delete(item)
    return delete
