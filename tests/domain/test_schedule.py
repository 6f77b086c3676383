from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.schedule import cron_problem, due_tick


def at(text: str) -> float:
    """A UTC time written as 'YYYY-MM-DD HH:MM[:SS]'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


NIGHTLY = "0 3 * * *"
CREATED = at("2026-01-01 12:00")


def test_no_tick_is_due_before_the_first_one_after_creation() -> None:
    assert due_tick(NIGHTLY, None, at("2026-01-02 02:59:59"), CREATED) is None


def test_the_first_tick_after_creation_is_due() -> None:
    assert due_tick(NIGHTLY, None, at("2026-01-02 03:00:30"), CREATED) == at("2026-01-02 03:00")


def test_a_tick_at_exactly_now_is_due() -> None:
    assert due_tick(NIGHTLY, None, at("2026-01-02 03:00"), CREATED) == at("2026-01-02 03:00")


def test_a_tick_already_acted_on_is_not_due_again() -> None:
    mark = at("2026-01-02 03:00")
    assert due_tick(NIGHTLY, mark, at("2026-01-02 09:00"), CREATED) is None


def test_ticks_missed_while_down_give_only_the_latest() -> None:
    mark = at("2026-01-02 03:00")
    assert due_tick(NIGHTLY, mark, at("2026-01-09 10:00"), CREATED) == at("2026-01-09 03:00")


def test_a_tick_before_the_workflow_existed_is_not_due() -> None:
    created = at("2026-01-02 03:00:10")
    assert due_tick(NIGHTLY, None, at("2026-01-02 03:00:20"), created) is None


def test_the_mark_replaces_the_creation_time() -> None:
    # The mark is later than creation: only ticks after the mark count.
    assert due_tick("*/15 * * * *", at("2026-01-02 10:15"), at("2026-01-02 10:29"), CREATED) is None
    assert due_tick("*/15 * * * *", at("2026-01-02 10:15"), at("2026-01-02 10:30"), CREATED) == at(
        "2026-01-02 10:30"
    )


def test_cron_is_read_in_utc() -> None:
    assert due_tick("30 22 * * MON-FRI", None, at("2026-01-06 23:00"), CREATED) == at("2026-01-06 22:30")


def test_time_going_backwards_owes_nothing() -> None:
    assert due_tick(NIGHTLY, at("2026-01-05 03:00"), at("2026-01-04 04:00"), CREATED) is None


@pytest.mark.parametrize("cron", ["daily", "0 0 31 2 *", "99 * * * *"])
def test_an_unusable_cron_owes_nothing(cron: str) -> None:
    assert due_tick(cron, None, at("2027-01-01 00:00"), CREATED) is None


@pytest.mark.parametrize("cron", ["0 3 * * *", "*/5 9-17 * * 1-5", "0 0 L * *", "0 0 ? * SUN"])
def test_usable_crons_have_no_problem(cron: str) -> None:
    assert cron_problem(cron) is None


@pytest.mark.parametrize(("cron", "why"), [
    ("@daily", "it has 1 field(s), not 5 (minute hour day-of-month month day-of-week)"),
    ("0 3 * * * *", "it has 6 field(s), not 5 (minute hour day-of-month month day-of-week)"),
    ("0 25 * * *", "its hour field '25' is not valid"),
    ("0 3 * 13 *", "its month field '13' is not valid"),
    ("*/0 * * * *", "its minute field '*/0' is not valid"),
    ("0 0 30 2 *", "it never matches a date"),
])
def test_unusable_crons_are_explained(cron: str, why: str) -> None:
    assert cron_problem(cron) == why
