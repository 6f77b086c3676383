"""State names: readable when they can be, always unique in the machine and at most 80 characters."""

from __future__ import annotations

import re

from chalicelib.asl.names import MAX_STATE_NAME, StateNames
from chalicelib.domain.models import JOB_NAME_PATTERN
from tests.asl.conftest import all_states, compile_stages
from tests.builders import action, job, stage

LONG = "integration_tests-of_the-payment-service_against-the-sandbox-"  # 61 characters


def test_a_short_name_stays_as_it_is() -> None:
    assert StateNames().claim("job build") == "job build"


def test_the_longest_job_names_stay_whole_and_distinct_when_they_differ_only_at_the_end() -> None:
    names = [LONG + "01", LONG + "02", LONG + "0_", LONG + "-0"]
    assert all(re.match(JOB_NAME_PATTERN, name) and len(name) == 63 for name in names)
    machine = compile_stages(stage("s", *(action(f"a{i}", job(name, continue_on_error=True))
                                          for i, name in enumerate(names)))).definition
    states = all_states(machine)

    assert {f"job {name}" for name in names} | {f"continue after {name}" for name in names} <= set(states)
    assert all(len(name) <= MAX_STATE_NAME for name in states)


def test_names_with_underscores_and_dashes_are_kept_as_written() -> None:
    machine = compile_stages(stage("s", action("a", job("a_b-c"), job("A-B_C"), job("a-b_c")))).definition

    assert list(machine["States"]) == ["job a_b-c", "job A-B_C", "job a-b_c"]


def test_a_name_over_80_characters_is_cut_and_given_a_stable_hash_suffix() -> None:
    readable = "continue after " + "x" * 100
    first, again = StateNames().claim(readable), StateNames().claim(readable)

    assert len(first) == MAX_STATE_NAME
    assert first == again
    assert re.fullmatch(r"continue after x+ @[0-9a-f]{8}", first)


def test_names_that_differ_only_past_the_cut_stay_distinct() -> None:
    names = StateNames()
    claimed = [names.claim("stage " + "y" * 90 + end) for end in ("1", "2", "3")]

    assert len(set(claimed)) == 3
    assert all(len(name) == MAX_STATE_NAME for name in claimed)


def test_a_name_asked_for_twice_is_given_a_distinct_stable_name_the_second_time() -> None:
    names, other = StateNames(), StateNames()
    first, second = names.claim("job build"), names.claim("job build")
    other.claim("job build")

    assert first == "job build"
    assert second != first and second.startswith("job build @")
    assert other.claim("job build") == second


def test_a_readable_name_that_looks_like_a_shortened_one_does_not_steal_it() -> None:
    names = StateNames()
    twin = StateNames()
    twin.claim("job x")
    shortened = twin.claim("job x")
    names.claim(shortened)  # a job literally named like the shortened form came first
    names.claim("job x")

    assert names.claim("job x") not in {shortened, "job x"}


def test_every_state_of_a_large_machine_has_its_own_name_within_the_limit() -> None:
    stages = [stage(f"stage-{s:02d}-" + "s" * 50, *(
        action(f"a{a}", job(f"{'j' * 50}_{s:03d}-{a:03d}", continue_on_error=bool(a % 2)))
        for a in range(4))) for s in range(20)]
    states = all_states(compile_stages(*stages).definition)

    assert len(states) == 20 * (1 + 4 + 2)
    assert all(len(name) <= MAX_STATE_NAME for name in states)
