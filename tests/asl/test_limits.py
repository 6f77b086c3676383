"""Step Functions' limits: a machine too large, or whose worst-case run is too long, is refused."""

from __future__ import annotations

import json

import pytest

from chalicelib.asl import Target, build_compiled, compile_workflow
from chalicelib.asl.limits import MAX_DEFINITION_BYTES, MAX_HISTORY_EVENTS, worst_case_events
from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.errors import InvalidDefinition
from tests.asl.conftest import QUEUE_URL, compile_stages
from tests.builders import action, job, stage, workflow


def test_one_job_costs_the_execution_two_and_the_task_two_plus_five_per_attempt() -> None:
    once = compile_stages(stage("s", action("a", job("x")))).plan
    thrice = compile_stages(stage("s", action("a", job("x", retries={"limit": 2, "backoff": "1s"})))).plan

    assert worst_case_events(once) == 2 + 2 + 5
    assert worst_case_events(thrice) == 2 + 2 + 5 * 3


def test_a_parallel_costs_four_plus_one_per_branch_and_a_continue_pass_two() -> None:
    branches = [action("a", job("x", continue_on_error=True)), action("b", job("y"))]
    plan = compile_stages(stage("s", *branches)).plan

    assert worst_case_events(plan) == 2 + (4 + 2) + (7 + 2) + 7


def test_the_figures_count_states_and_the_compact_definitions_bytes() -> None:
    compiled = compile_stages(stage("s", action("a", job("x"))))

    assert compiled.figures.states == 1
    assert compiled.figures.definition_bytes == len(compiled.text.encode())
    assert compiled.text == json.dumps(compiled.definition, separators=(",", ":"))


def test_a_machine_over_the_definition_size_limit_is_refused_saying_by_how_much() -> None:
    target = Target(QUEUE_URL + "?" + "q" * 10_000)
    definition = workflow(stage("s", *(action(f"a{i}", job(f"job-{i}")) for i in range(110))))
    size = build_compiled(definition, InMemoryCatalog(), target).figures.definition_bytes
    assert size > MAX_DEFINITION_BYTES

    with pytest.raises(InvalidDefinition) as refused:
        compile_workflow(definition, InMemoryCatalog(), target)

    [problem] = refused.value.problems
    assert refused.value.source == "demo/ci"
    assert problem.path == "spec.stages"
    assert problem.message.startswith(
        f"the compiled state machine would be {size:,} bytes, {size - MAX_DEFINITION_BYTES:,} bytes "
        "over Step Functions' limit of 1,048,576 bytes per definition")


def test_a_machine_whose_worst_case_run_passes_the_history_limit_is_refused_saying_by_how_much() -> None:
    retried = {"limit": 10, "backoff": "1s"}
    definition = workflow(*(stage(f"s{s}", action("a", *(job(f"j{s}-{i}", retries=retried)
                                                         for i in range(50)))) for s in range(10)))
    events = 2 + 500 * (2 + 5 * 11)

    with pytest.raises(InvalidDefinition) as refused:
        compile_workflow(definition, InMemoryCatalog(), Target(QUEUE_URL))

    [problem] = refused.value.problems
    assert problem.message.startswith(
        f"a run could record {events:,} history events (every job retried to its limit), "
        f"{events - MAX_HISTORY_EVENTS:,} over Step Functions' limit of 25,000 events per execution")


def test_a_machine_within_both_limits_compiles() -> None:
    definition = workflow(*(stage(f"s{s}", action("a", *(job(f"j{s}-{i}") for i in range(40))))
                            for s in range(10)))

    compiled = compile_workflow(definition, InMemoryCatalog(), Target(QUEUE_URL))

    assert compiled.figures.worst_case_events == 2 + 400 * 7 <= MAX_HISTORY_EVENTS
    assert compiled.figures.definition_bytes <= MAX_DEFINITION_BYTES


def test_a_machine_over_both_limits_gets_both_sentences() -> None:
    target = Target(QUEUE_URL + "?" + "q" * 2_000)
    retried = {"limit": 10, "backoff": "1s"}
    definition = workflow(stage("s", action("a", *(job(f"j{i}", retries=retried) for i in range(500)))))

    with pytest.raises(InvalidDefinition) as refused:
        compile_workflow(definition, InMemoryCatalog(), target)

    assert [p.message.split(" ")[1] for p in refused.value.problems] == ["compiled", "run"]
