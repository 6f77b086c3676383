"""The behaviour every Store keeps for fan-out instances (design §2), written once and run
against each implementation: instance records beside the workflow's jobs, created once,
counted per state, paged by state and in the run view's order.

A test module subclasses `InstanceContract` and provides the `store` fixture (an empty
store, closed after the test).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

import pytest

from chalicelib.domain.states import AttemptState, JobState
from chalicelib.engine.instance_keys import instance_key
from chalicelib.engine.records import AttemptRecord, JobRecord
from chalicelib.errors import Conflict, NotFound, StaleWrite
from chalicelib.store.base import Store
from chalicelib.store.instance_pages import InstanceOrder
from tests.store.contract import at_once, job, run

FAILED, RUNNING, SUCCEEDED = JobState.FAILED, JobState.RUNNING, JobState.SUCCEEDED


def instance(index: int, status: JobState = RUNNING, *, group: str = "test",
             run_id: str = "r1") -> JobRecord:
    return JobRecord(run_id=run_id, name=instance_key(group, index), stage=0, action=0,
                     position=1, status=status, group=group, instance=index)


def every_page(store: Store, *, states: Sequence[JobState] | None = None,
               order: InstanceOrder = InstanceOrder.INDEX, limit: int = 100) -> list[list[str]]:
    """The names on each page, following the cursors to the end."""
    pages, cursor = [], None
    while True:
        page = store.list_instances("r1", "test", states=states, order=order, cursor=cursor,
                                    limit=limit)
        pages.append([record.name for record in page.instances])
        cursor = page.next_cursor
        if cursor is None:
            return pages


class InstanceContract:
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        raise NotImplementedError("a subclass provides the store under test")

    @pytest.fixture
    def fanned(self, store: Store) -> Store:
        """Run r1 with job `lint` and fan-out job `test` (its group record), no instance yet."""
        store.create_run(run("r1"), [job("lint"), job("test", position=1)])
        return store

    # --- records -----------------------------------------------------------------------
    def test_an_instance_reads_back_by_its_key_with_its_group_and_index(self, fanned: Store) -> None:
        record = replace(instance(3), outputs={"TESTS": "120"}, attempts=1, started_at=5.0)
        fanned.create_instance(record)
        assert fanned.get_job("r1", "test.3") == record

    def test_the_jobs_of_a_run_never_include_its_instances(self, fanned: Store) -> None:
        for index in range(3):
            fanned.create_instance(instance(index))
        assert [j.name for j in fanned.list_jobs("r1")] == ["lint", "test"]
        assert fanned.get_job("r1", "test").group is None

    def test_an_instance_is_created_once(self, fanned: Store) -> None:
        fanned.create_instance(instance(0))
        with pytest.raises(StaleWrite):
            fanned.create_instance(instance(0, SUCCEEDED))
        assert fanned.get_job("r1", "test.0").status is RUNNING
        assert fanned.instance_counts("r1", "test") == {RUNNING: 1}

    def test_of_starters_racing_to_create_one_instance_exactly_one_wins(self, fanned: Store) -> None:
        results = at_once(6, lambda _: fanned.create_instance(instance(7)))
        assert sum(result is None for result in results) == 1
        assert all(isinstance(r, StaleWrite) for r in results if r is not None)
        assert fanned.instance_counts("r1", "test") == {RUNNING: 1}

    def test_an_instance_of_an_unknown_run_or_group_is_not_found(self, fanned: Store) -> None:
        with pytest.raises(NotFound, match="run r9 not found"):
            fanned.create_instance(instance(0, run_id="r9"))
        with pytest.raises(NotFound, match="no job 'deploy'"):
            fanned.create_instance(instance(0, group="deploy"))
        with pytest.raises(NotFound, match="no job 'deploy'"):
            fanned.save_job(instance(0, group="deploy"))

    def test_a_record_whose_name_is_not_its_instance_key_is_refused(self, fanned: Store) -> None:
        with pytest.raises(ValueError):
            fanned.create_instance(replace(instance(3), name="test.4"))
        with pytest.raises(ValueError):
            fanned.save_job(replace(instance(3), group=None))
        with pytest.raises(ValueError):
            fanned.create_run(run("r2"), [replace(instance(3, run_id="r2"), instance=None)])

    def test_an_instance_moves_on_only_from_the_state_its_writer_read(self, fanned: Store) -> None:
        fanned.create_instance(instance(1))
        fanned.save_job(instance(1, FAILED), expected=RUNNING)
        with pytest.raises(StaleWrite):
            fanned.save_job(instance(1, SUCCEEDED), expected=RUNNING)
        assert fanned.get_job("r1", "test.1").status is FAILED
        with pytest.raises(StaleWrite):
            fanned.save_job(instance(2, FAILED), expected=RUNNING)  # never recorded

    def test_an_unconditional_save_records_an_instance_or_replaces_it(self, fanned: Store) -> None:
        fanned.save_job(instance(4, SUCCEEDED))
        fanned.save_job(replace(instance(4, SUCCEEDED), reason="done"))
        assert fanned.get_job("r1", "test.4").reason == "done"
        assert fanned.instance_counts("r1", "test") == {SUCCEEDED: 1}

    def test_an_instances_attempts_are_kept_under_its_key(self, fanned: Store) -> None:
        fanned.create_instance(instance(3))
        attempt = AttemptRecord(run_id="r1", job="test.3", number=1, container_id="c-3")
        fanned.create_attempt(attempt)
        fanned.save_attempt(replace(attempt, status=AttemptState.SUCCEEDED),
                            expected=AttemptState.RUNNING)
        assert fanned.get_attempt("r1", "test.3", 1).status is AttemptState.SUCCEEDED
        assert [a.job for a in fanned.list_attempts("r1", "test.3")] == ["test.3"]
        assert fanned.list_attempts("r1", "test") == []
        assert fanned.find_attempt_by_container("c-3") == fanned.get_attempt("r1", "test.3", 1)
        with pytest.raises(Conflict):
            fanned.create_attempt(attempt)

    def test_an_attempt_of_an_instance_never_recorded_is_not_found(self, fanned: Store) -> None:
        with pytest.raises(NotFound):
            fanned.create_attempt(AttemptRecord(run_id="r1", job="test.5", number=1))

    def test_every_attempt_of_a_run_includes_its_instances_and_the_jobs_attempts_do_not(
        self, fanned: Store
    ) -> None:
        fanned.create_attempt(AttemptRecord(run_id="r1", job="lint", number=1))
        fanned.create_instance(instance(0))
        fanned.create_attempt(AttemptRecord(run_id="r1", job="test.0", number=1))
        assert [a.job for a in fanned.list_attempts("r1")] == ["lint", "test.0"]
        assert [a.job for a in fanned.list_job_attempts("r1")] == ["lint"]

    # --- counts --------------------------------------------------------------------------
    def test_counts_follow_every_state_change(self, fanned: Store) -> None:
        assert fanned.instance_counts("r1", "test") == {}
        for index in range(5):
            fanned.create_instance(instance(index))
        fanned.save_job(instance(0, SUCCEEDED), expected=RUNNING)
        fanned.save_job(instance(1, FAILED))
        fanned.save_job(instance(1, FAILED))  # no change: counted once
        fanned.save_job(instance(2, JobState.CANCELLED), expected=RUNNING)
        assert fanned.instance_counts("r1", "test") == {
            RUNNING: 2, SUCCEEDED: 1, FAILED: 1, JobState.CANCELLED: 1}

    def test_a_refused_change_leaves_the_counts(self, fanned: Store) -> None:
        fanned.create_instance(instance(0, SUCCEEDED))
        with pytest.raises(StaleWrite):
            fanned.save_job(instance(0, FAILED), expected=RUNNING)
        assert fanned.instance_counts("r1", "test") == {SUCCEEDED: 1}

    def test_a_run_created_with_instances_counts_them(self, store: Store) -> None:
        store.create_run(run("r1"), [
            job("test"), instance(0, JobState.REUSED), instance(1, JobState.REUSED)])
        assert store.instance_counts("r1", "test") == {JobState.REUSED: 2}
        assert [j.name for j in store.list_jobs("r1")] == ["test"]

    def test_each_group_and_run_has_its_own_counts(self, fanned: Store) -> None:
        fanned.create_run(run("r2"), [job("test", run_id="r2")])
        fanned.create_instance(instance(0))
        fanned.create_instance(instance(0, FAILED, run_id="r2"))
        assert fanned.instance_counts("r1", "test") == {RUNNING: 1}
        assert fanned.instance_counts("r2", "test") == {FAILED: 1}
        assert fanned.instance_counts("r1", "lint") == {}
        assert fanned.instance_counts("r9", "test") == {}

    # --- pages ---------------------------------------------------------------------------
    def test_instances_page_in_index_order_with_a_cursor(self, fanned: Store) -> None:
        for index in (10, 2, 0, 1, 11):
            fanned.create_instance(instance(index))
        assert every_page(fanned, limit=2) == [
            ["test.0", "test.1"], ["test.2", "test.10"], ["test.11"]]

    def test_an_exactly_full_last_page_has_no_cursor(self, fanned: Store) -> None:
        for index in range(4):
            fanned.create_instance(instance(index))
        assert every_page(fanned, limit=2) == [["test.0", "test.1"], ["test.2", "test.3"]]

    def test_a_state_filter_gives_only_those_states(self, fanned: Store) -> None:
        states = [FAILED, SUCCEEDED, FAILED, RUNNING, SUCCEEDED, FAILED]
        for index, state in enumerate(states):
            fanned.create_instance(instance(index, state))
        assert every_page(fanned, states=[FAILED], limit=2) == [["test.0", "test.2"], ["test.5"]]
        assert every_page(fanned, states=[SUCCEEDED, RUNNING]) == [["test.1", "test.3", "test.4"]]
        assert every_page(fanned, states=[JobState.SKIPPED]) == [[]]

    def test_failed_first_then_running_then_the_rest_each_in_index_order(self, fanned: Store) -> None:
        states = [SUCCEEDED, RUNNING, FAILED, JobState.SKIPPED, FAILED, RUNNING, JobState.REUSED]
        for index, state in enumerate(states):
            fanned.create_instance(instance(index, state))
        pages = every_page(fanned, order=InstanceOrder.FAILED_FIRST, limit=3)
        assert pages == [["test.2", "test.4", "test.1"], ["test.5", "test.0", "test.3"], ["test.6"]]
        filtered = every_page(fanned, states=[SUCCEEDED, FAILED], order=InstanceOrder.FAILED_FIRST)
        assert filtered == [["test.2", "test.4", "test.0"]]

    def test_an_unknown_run_or_job_has_an_empty_page(self, fanned: Store) -> None:
        assert fanned.list_instances("r9", "test").instances == []
        assert fanned.list_instances("r1", "lint").next_cursor is None

    def test_a_cursor_it_did_not_give_is_refused(self, fanned: Store) -> None:
        fanned.create_instance(instance(0))
        for cursor in ("not a cursor", "WzUsMF0", "WyJ4IiwwXQ"):  # garbage, [5,0], ["x",0]
            with pytest.raises(ValueError):
                fanned.list_instances("r1", "test", cursor=cursor)

    def test_a_page_holds_at_most_500_instances(self, fanned: Store) -> None:
        fanned.create_run(run("r2"), [job("test", run_id="r2"),
                                      *(instance(i, run_id="r2") for i in range(501))])
        page = fanned.list_instances("r2", "test", limit=10_000)
        assert len(page.instances) == 500
        assert page.next_cursor is not None
        rest = fanned.list_instances("r2", "test", cursor=page.next_cursor, limit=10_000)
        assert [r.name for r in rest.instances] == ["test.500"]
