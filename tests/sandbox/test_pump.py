"""The sandbox's pump (chalicelib/sandbox/pump.py): every part is played each round, and a part
that fails is logged with its traceback while the others carry on."""

from __future__ import annotations

import logging

import pytest

from chalicelib.sandbox.pump import Pump


def test_a_round_plays_each_part_and_says_whether_any_had_work() -> None:
    played: list[str] = []

    def part(name: str, busy: bool) -> tuple[str, object]:
        return name, lambda: played.append(name) or busy

    idle = Pump([part("queue", False), part("agent", False)])
    busy = Pump([part("queue", False), part("agent", True)])

    assert idle.round() is False
    assert busy.round() is True
    assert played == ["queue", "agent", "queue", "agent"]


def test_a_failing_part_is_logged_and_the_next_part_still_plays(caplog: pytest.LogCaptureFixture) -> None:
    played: list[str] = []

    def broken() -> bool:
        raise RuntimeError("moto went away")

    pump = Pump([("ECS agent", broken), ("execution events", lambda: played.append("events") or True)])

    with caplog.at_level(logging.ERROR, logger="containerops.sandbox"):
        assert pump.round() is True
        pump.round()

    assert played == ["events", "events"]
    [record] = caplog.records  # the same failure again within LOG_EVERY is counted, not logged
    assert "the sandbox's ECS agent failed" in record.getMessage()
    assert record.exc_info is not None and "moto went away" in str(record.exc_info[1])
