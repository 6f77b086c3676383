"""The schedule loop on a real SQLite file, with a fake clock and a starter that records."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.models import ScheduleTrigger, Workflow
from chalicelib.domain.triggers import schedule_key
from chalicelib.errors import InvalidRequest
from chalicelib.local.schedules import ScheduleLoop
from chalicelib.store.sqlite import SqliteStore, open_store
from tests.builders import single_job_doc
from tests.local.conftest import wait_until


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@dataclass
class FakeClock:
    now: float

    def __call__(self) -> float:
        return self.now


@dataclass
class Started:
    namespace: str
    name: str
    params: dict[str, str]
    trigger: dict[str, Any]
    mark_when_started: float | None


@dataclass
class RecordingStarter:
    store: SqliteStore
    started: list[Started] = field(default_factory=list)
    fail_for: set[str] = field(default_factory=set)

    def __call__(self, namespace: str, name: str, params: Mapping[str, str],
                 trigger: Mapping[str, Any]) -> object:
        if name in self.fail_for:
            raise InvalidRequest("param 'who' is required")
        mark = self.store.get_schedule_mark(namespace, name, at_cron(str(trigger["cron"])))
        self.started.append(Started(namespace, name, dict(params), dict(trigger), mark))
        return None


def at_cron(cron: str) -> str:
    """The key the schedule's mark is kept under."""
    return schedule_key(ScheduleTrigger(type="schedule", cron=cron))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(at("2026-03-01 12:00"))


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[SqliteStore]:
    with open_store(tmp_path / "data", clock=clock) as opened:
        yield opened


@pytest.fixture
def starter(store: SqliteStore) -> RecordingStarter:
    return RecordingStarter(store)


@pytest.fixture
def loop(store: SqliteStore, starter: RecordingStarter, clock: FakeClock) -> ScheduleLoop:
    return ScheduleLoop(store, starter, clock, interval=0.05)


def save_scheduled(store: SqliteStore, name: str, *crons: str) -> None:
    document = single_job_doc(spec__triggers=[{"type": "schedule", "cron": c} for c in crons])
    document["metadata"]["name"] = name
    store.save_workflow(Workflow.model_validate(document))


def test_nothing_starts_before_the_first_tick(
    store: SqliteStore, loop: ScheduleLoop, starter: RecordingStarter, clock: FakeClock
) -> None:
    save_scheduled(store, "nightly", "0 3 * * *")
    clock.now = at("2026-03-02 02:59")
    assert loop.tick_once() == 0
    assert starter.started == []


def test_ticks_missed_while_down_start_exactly_one_run(
    store: SqliteStore, loop: ScheduleLoop, starter: RecordingStarter, clock: FakeClock
) -> None:
    save_scheduled(store, "nightly", "0 3 * * *")
    clock.now = at("2026-03-06 10:00")  # five nightly ticks have passed

    assert loop.tick_once() == 1
    assert loop.tick_once() == 0

    [run] = starter.started
    assert (run.namespace, run.name, run.params) == ("demo", "nightly", {})
    assert run.trigger == {"type": "schedule", "cron": "0 3 * * *", "tick": "2026-03-06T03:00:00+00:00"}


def test_the_next_tick_starts_the_next_run(
    store: SqliteStore, loop: ScheduleLoop, starter: RecordingStarter, clock: FakeClock
) -> None:
    save_scheduled(store, "nightly", "0 3 * * *")
    clock.now = at("2026-03-02 03:00:05")
    loop.tick_once()
    clock.now = at("2026-03-03 03:00:05")
    loop.tick_once()
    assert [run.trigger["tick"] for run in starter.started] == [
        "2026-03-02T03:00:00+00:00", "2026-03-03T03:00:00+00:00",
    ]


def test_the_mark_is_set_before_the_run_starts(
    store: SqliteStore, loop: ScheduleLoop, starter: RecordingStarter, clock: FakeClock
) -> None:
    save_scheduled(store, "nightly", "0 3 * * *")
    clock.now = at("2026-03-02 03:01")
    loop.tick_once()
    assert starter.started[0].mark_when_started == at("2026-03-02 03:00")


def test_a_disabled_workflow_is_skipped_and_its_ticks_are_not_owed_later(
    store: SqliteStore, loop: ScheduleLoop, starter: RecordingStarter, clock: FakeClock
) -> None:
    save_scheduled(store, "nightly", "0 3 * * *")
    save_scheduled(store, "hourly", "0 * * * *")
    store.set_workflow_enabled("demo", "nightly", False)
    clock.now = at("2026-03-02 04:30")

    assert loop.tick_once() == 1
    assert [run.name for run in starter.started] == ["hourly"]

    store.set_workflow_enabled("demo", "nightly", True)
    assert loop.tick_once() == 0  # the 03:00 tick passed while it was off


def test_a_run_that_cannot_start_is_not_retried_and_others_still_start(
    store: SqliteStore, loop: ScheduleLoop, starter: RecordingStarter, clock: FakeClock
) -> None:
    save_scheduled(store, "broken", "0 3 * * *")
    save_scheduled(store, "nightly", "0 3 * * *")
    starter.fail_for.add("broken")
    clock.now = at("2026-03-02 03:01")

    assert loop.tick_once() == 1
    assert store.get_schedule_mark("demo", "broken", at_cron("0 3 * * *")) == at("2026-03-02 03:00")
    starter.fail_for.clear()
    assert loop.tick_once() == 0


def test_each_schedule_trigger_keeps_its_own_mark(
    store: SqliteStore, loop: ScheduleLoop, starter: RecordingStarter, clock: FakeClock
) -> None:
    save_scheduled(store, "twice", "0 3 * * *", "0 15 * * *")
    clock.now = at("2026-03-02 16:00")
    assert loop.tick_once() == 2
    assert sorted(run.trigger["cron"] for run in starter.started) == ["0 15 * * *", "0 3 * * *"]
    assert store.get_schedule_mark("demo", "twice", at_cron("0 15 * * *")) == at("2026-03-02 15:00")


def test_the_loop_thread_starts_owed_runs_until_stopped(
    store: SqliteStore, loop: ScheduleLoop, starter: RecordingStarter, clock: FakeClock
) -> None:
    save_scheduled(store, "nightly", "0 3 * * *")
    clock.now = at("2026-03-02 03:01")
    loop.start()
    try:
        wait_until(lambda: starter.started, deadline_seconds=10)
    finally:
        loop.stop()
    clock.now = at("2026-03-03 03:01")
    assert len(starter.started) == 1  # stopped: the next tick is not acted on
