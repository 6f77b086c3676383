"""ScheduleService on a real SQLite file with a fake clock: what the local loop and aws mode's
minute check share. A tick checked twice, or by two checks at once, starts one run; the
workflows are found through the trigger index. (The loop itself: tests/local/test_schedules.py.)"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.models import ScheduleTrigger, Workflow
from chalicelib.domain.triggers import schedule_key
from chalicelib.services.dispatch import RecordingDispatcher
from chalicelib.services.run_service import RunService
from chalicelib.services.schedules import ScheduleService
from chalicelib.store.base import StoredWorkflow
from chalicelib.store.sqlite import SqliteStore
from tests.builders import single_job_doc
from tests.store.contract import at_once


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def at_cron(cron: str) -> str:
    """The key the schedule's mark is kept under."""
    return schedule_key(ScheduleTrigger(type="schedule", cron=cron))


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class NoScanStore(SqliteStore):
    """A store whose workflow list must not be read: the schedule check uses the index."""

    def list_workflows(self, namespace: str | None = None) -> list[StoredWorkflow]:
        raise AssertionError("the schedule check listed every workflow")


@pytest.fixture
def clock() -> Clock:
    return Clock(at("2026-03-01 12:00"))


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[SqliteStore]:
    with NoScanStore(tmp_path / "store.db", clock=clock) as store:
        yield store


@pytest.fixture
def schedules(store: SqliteStore, clock: Clock) -> ScheduleService:
    return ScheduleService(store, RunService(store, RecordingDispatcher(), clock=clock).start, clock)


def save(store: SqliteStore, name: str, *crons: str, **spec: Any) -> None:
    document = single_job_doc(spec__triggers=[{"type": "schedule", "cron": c} for c in crons],
                              **{f"spec__{k}": v for k, v in spec.items()})
    document["metadata"]["name"] = name
    store.save_workflow(Workflow.model_validate(document))


def ticks(store: SqliteStore) -> list[tuple[str, Mapping[str, Any]]]:
    return sorted((run.workflow, run.trigger) for run in store.list_runs().runs)


def test_a_due_tick_starts_one_run_that_sees_its_cron_and_tick(
    schedules: ScheduleService, store: SqliteStore, clock: Clock
) -> None:
    save(store, "nightly", "0 3 * * *")
    clock.now = at("2026-03-02 03:00:40")
    assert schedules.check() == 1
    assert ticks(store) == [("nightly", {"type": "schedule", "cron": "0 3 * * *",
                                         "tick": "2026-03-02T03:00:00+00:00"})]


def test_a_tick_checked_twice_starts_one_run(
    schedules: ScheduleService, store: SqliteStore, clock: Clock
) -> None:
    save(store, "nightly", "0 3 * * *")
    clock.now = at("2026-03-02 03:00:40")
    assert schedules.check() == 1
    clock.now += 20  # the minute's schedule event delivered again
    assert schedules.check() == 0
    assert len(store.list_runs().runs) == 1


def test_checks_of_one_tick_at_once_start_one_run(
    schedules: ScheduleService, store: SqliteStore, clock: Clock
) -> None:
    save(store, "nightly", "0 3 * * *")
    clock.now = at("2026-03-02 03:00:40")
    started = at_once(4, lambda i: schedules.check())
    assert sorted(n for n in started if isinstance(n, int)) == [0, 0, 0, 1]
    assert len(store.list_runs().runs) == 1


def test_ticks_missed_while_nothing_checked_start_one_run_for_the_latest(
    schedules: ScheduleService, store: SqliteStore, clock: Clock
) -> None:
    save(store, "hourly", "0 * * * *")
    clock.now = at("2026-03-01 18:30")  # six hourly ticks passed unchecked
    assert schedules.check() == 1
    assert schedules.check() == 0
    [(_, trigger)] = ticks(store)
    assert trigger["tick"] == "2026-03-01T18:00:00+00:00"


def test_a_disabled_workflows_tick_is_marked_without_a_run(
    schedules: ScheduleService, store: SqliteStore, clock: Clock
) -> None:
    save(store, "nightly", "0 3 * * *")
    store.set_workflow_enabled("demo", "nightly", False)
    clock.now = at("2026-03-02 03:01")
    assert schedules.check() == 0
    assert store.get_schedule_mark("demo", "nightly", at_cron("0 3 * * *")) == at("2026-03-02 03:00")
    store.set_workflow_enabled("demo", "nightly", True)
    assert schedules.check() == 0 and store.list_runs().runs == []


def test_a_run_that_cannot_start_is_logged_and_its_tick_stays_marked(
    schedules: ScheduleService, store: SqliteStore, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    save(store, "needs-input", "0 3 * * *", params=[{"name": "target", "required": True}])
    save(store, "fine", "0 3 * * *")
    clock.now = at("2026-03-02 03:01")
    with caplog.at_level(logging.WARNING, logger="containerops.schedules"):
        assert schedules.check() == 1
    assert [name for name, _ in ticks(store)] == ["fine"]
    assert "params.target: param 'target' is required" in caplog.text
    assert store.get_schedule_mark("demo", "needs-input", at_cron("0 3 * * *")) == at("2026-03-02 03:00")


def test_a_check_stops_between_triggers_when_told(
    schedules: ScheduleService, store: SqliteStore, clock: Clock
) -> None:
    save(store, "nightly", "0 3 * * *")
    clock.now = at("2026-03-02 03:01")
    assert schedules.check(stopping=lambda: True) == 0
    assert store.get_schedule_mark("demo", "nightly", at_cron("0 3 * * *")) is None  # still owed


# --- marks follow the schedule, not its position ------------------------------------------

def ticks_started(store: SqliteStore) -> list[tuple[str, str]]:
    """(cron, tick) of every run the schedules started, in tick order."""
    return sorted(((str(run.trigger["cron"]), str(run.trigger["tick"])) for run in store.list_runs().runs),
                  key=lambda started: started[1])

def test_reordering_the_triggers_repeats_no_tick(
    schedules: ScheduleService, store: SqliteStore, clock: Clock
) -> None:
    save(store, "twice", "0 3 * * *", "0 15 * * *")
    clock.now = at("2026-03-02 16:00")
    assert schedules.check() == 2  # 03:00 and 15:00
    clock.now = at("2026-03-02 16:01")
    save(store, "twice", "0 15 * * *", "0 3 * * *")
    clock.now = at("2026-03-02 16:02")
    assert schedules.check() == 0
    clock.now = at("2026-03-03 03:00:30")
    assert schedules.check() == 1
    assert ticks_started(store) == [("0 3 * * *", "2026-03-02T03:00:00+00:00"),
                                    ("0 15 * * *", "2026-03-02T15:00:00+00:00"),
                                    ("0 3 * * *", "2026-03-03T03:00:00+00:00")]


def test_a_trigger_added_in_front_skips_no_tick_of_the_others(
    schedules: ScheduleService, store: SqliteStore, clock: Clock
) -> None:
    save(store, "hourly", "0 * * * *")
    clock.now = at("2026-03-02 05:00:10")
    assert schedules.check() == 1
    save(store, "hourly", "30 5 * * *", "0 * * * *")
    clock.now = at("2026-03-02 05:40")
    assert schedules.check() == 1  # the new 05:30, and 06:00 is not due yet
    clock.now = at("2026-03-02 06:00:10")
    assert schedules.check() == 1
    assert ticks_started(store) == [("0 * * * *", "2026-03-02T05:00:00+00:00"),
                                    ("30 5 * * *", "2026-03-02T05:30:00+00:00"),
                                    ("0 * * * *", "2026-03-02T06:00:00+00:00")]


def test_two_identical_triggers_are_one_schedule(
    schedules: ScheduleService, store: SqliteStore, clock: Clock
) -> None:
    save(store, "nightly", "0 3 * * *", "0  3 * * *")
    clock.now = at("2026-03-02 03:01")
    assert schedules.check() == 1
    assert schedules.check() == 0


def test_a_changed_cron_is_a_new_schedule_that_owes_nothing_from_before_it(
    schedules: ScheduleService, store: SqliteStore, clock: Clock
) -> None:
    save(store, "nightly", "0 3 * * *")
    clock.now = at("2026-03-02 03:01")
    assert schedules.check() == 1
    clock.now = at("2026-03-02 05:00")
    save(store, "nightly", "0 4 * * *")  # its 04:00 passed before this version
    clock.now = at("2026-03-02 05:01")
    assert schedules.check() == 0
    clock.now = at("2026-03-03 04:00:30")
    assert schedules.check() == 1
