"""Validation of definitions (DESIGN §2): every problem at once, each with a path and a sentence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.domain.models import PATTERN_IN_WORDS
from chalicelib.domain.validation import check_component, check_workflow
from chalicelib.errors import Problem
from tests.builders import (
    JOB_PATH,
    action,
    catalog,
    component,
    component_doc,
    job,
    job_path,
    optional_input,
    required_input,
    single_job_doc,
    stage,
    workflow_doc,
)

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
TOOL = "demo/tool@1.0.0"
BUILDER = "demo/builder@1.0.0"


def default_catalog() -> InMemoryCatalog:
    return catalog(
        component(TOOL, inputs=[required_input("url"), optional_input("mode", "fast")]),
        component("demo/tool@1.2.0", inputs=[required_input("url")]),
        component(BUILDER, outputs=["IMAGE"]),
    )


def problems_of(
    document: dict[str, Any], components: InMemoryCatalog | None = None
) -> list[Problem]:
    checked = check_workflow(document, components or default_catalog())
    assert checked.ok is (not checked.problems)
    return checked.problems


def messages_at(problems: list[Problem], path: str) -> list[str]:
    return [problem.message for problem in problems if problem.path == path]


def assert_valid(document: dict[str, Any], components: InMemoryCatalog | None = None) -> None:
    checked = check_workflow(document, components or default_catalog())
    assert checked.problems == []
    assert checked.ok
    assert checked.model is not None


# --- the happy path ---------------------------------------------------------------------


def test_valid_workflow_gives_its_model() -> None:
    document = workflow_doc(
        stage("build", action("image", job("build", component=BUILDER))),
        stage(
            "test",
            action("unit", job("unit", component=TOOL, data={"url": "${{ params.repo }}"})),
            action("deploy", job("deploy", env={"IMAGE": "${{ jobs.build.outputs.IMAGE }}"})),
        ),
        params=[{"name": "repo", "default": "https://x.org/y.git"}],
        env={"GOFLAGS": "-mod=mod"},
        triggers=[{"type": "api"}, {"type": "schedule", "cron": "0 3 * * *"}],
    )
    checked = check_workflow(document, default_catalog())
    assert checked.ok
    assert checked.model is not None
    assert [j.name for j in checked.model.jobs()] == ["build", "unit", "deploy"]


def test_invalid_workflow_gives_no_model() -> None:
    checked = check_workflow(single_job_doc(bogus=1), default_catalog())
    assert not checked.ok
    assert checked.model is None


def test_non_mapping_document_is_one_problem() -> None:
    assert problems_of([1, 2]) == [Problem("", "a definition must be a mapping of fields")]  # type: ignore[arg-type]


# --- schema problems --------------------------------------------------------------------


def test_unknown_fields_are_reported_where_they_are() -> None:
    document = single_job_doc(colour="blue", spec__colour="red")
    document["metadata"]["owner"] = "me"
    problems = problems_of(document)
    assert Problem(JOB_PATH, "unknown field 'colour'") in problems
    assert Problem("spec", "unknown field 'colour'") in problems
    assert Problem("metadata", "unknown field 'owner'") in problems


def test_missing_required_fields_are_named() -> None:
    problems = problems_of({"apiVersion": "containerops/v1", "kind": "Workflow"})
    assert problems == [
        Problem("", "required field 'metadata' is missing"),
        Problem("", "required field 'spec' is missing"),
    ]


def test_job_must_name_a_component_or_an_image() -> None:
    document = workflow_doc(stage("s", action("a", {"name": "neither"})))
    assert messages_at(problems_of(document), JOB_PATH) == [
        "a job names exactly one of 'component' or 'image'"
    ]


def test_bad_duration_is_reported_with_an_example() -> None:
    problems = problems_of(single_job_doc(timeout="forever"))
    assert messages_at(problems, f"{JOB_PATH}.timeout") == [
        "'forever' is not a duration; write it like 30s, 10m, 2h or 1h30m"
    ]


def test_problem_in_a_trigger_is_reported_at_the_trigger_not_at_a_union_branch() -> None:
    problems = problems_of(single_job_doc(spec__triggers=[{"type": "api"}, {"type": "schedule"}]))
    assert problems == [Problem("spec.triggers[1]", "required field 'cron' is missing")]


def test_data_value_of_the_wrong_type_is_reported_at_its_key() -> None:
    problems = problems_of(single_job_doc(data={"str": [1, 2]}))
    assert problems
    assert {problem.path for problem in problems} == {f"{JOB_PATH}.data.str"}


# --- names ------------------------------------------------------------------------------


def test_duplicate_job_names_are_reported_with_the_first_use() -> None:
    document = workflow_doc(
        stage("one", action("a", job("build"))), stage("two", action("b", job("build")))
    )
    assert messages_at(problems_of(document), f"{job_path(1)}.name") == [
        f"job name 'build' is already used at {JOB_PATH}.name"
    ]


def test_duplicate_stage_names_are_reported() -> None:
    document = workflow_doc(
        stage("same", action("a", job("x"))), stage("same", action("b", job("y")))
    )
    assert messages_at(problems_of(document), "spec.stages[1].name") == [
        "stage name 'same' is already used at spec.stages[0].name"
    ]


def test_duplicate_action_names_in_one_stage_are_reported() -> None:
    document = workflow_doc(stage("s", action("same", job("x")), action("same", job("y"))))
    [message] = messages_at(problems_of(document), "spec.stages[0].actions[1].name")
    assert "'same' is already used at spec.stages[0].actions[0].name" in message


def test_same_action_name_in_different_stages_is_fine() -> None:
    assert_valid(workflow_doc(stage("s", action("a", job("x"))), stage("t", action("a", job("y")))))


def test_duplicate_param_names_are_reported() -> None:
    document = single_job_doc(spec__params=[{"name": "branch"}, {"name": "branch"}])
    assert messages_at(problems_of(document), "spec.params[1].name") == [
        "param name 'branch' is already used at spec.params[0].name"
    ]


# --- components -------------------------------------------------------------------------


def test_unknown_component_is_reported() -> None:
    problems = problems_of(single_job_doc(component="demo/nothing@1.0.0"))
    assert problems == [Problem(f"{JOB_PATH}.component", "unknown component demo/nothing")]


def test_unknown_version_lists_the_known_versions() -> None:
    problems = problems_of(single_job_doc(component="demo/tool@9.9.9", data={"url": "u"}))
    assert problems == [
        Problem(
            f"{JOB_PATH}.component",
            "component demo/tool has no version 9.9.9 (known: 1.0.0, 1.2.0)",
        )
    ]


@pytest.mark.parametrize("ref", ["tool", "demo/tool", "tool@1.0.0", "demo/tool@", "a/b/c@1"])
def test_malformed_component_reference_is_reported(ref: str) -> None:
    assert messages_at(problems_of(single_job_doc(component=ref)), f"{JOB_PATH}.component") == [
        f"'{ref}' is not a component reference like namespace/name@1.0.0"
    ]


def test_missing_required_input_is_reported() -> None:
    problems = problems_of(single_job_doc(component=TOOL))
    assert problems == [Problem(f"{JOB_PATH}.data", f"required input 'url' of {TOOL} is missing")]


def test_required_input_with_a_default_may_be_left_out() -> None:
    components = catalog(
        component(TOOL, inputs=[{"name": "url", "required": True, "default": "x"}])
    )
    assert_valid(single_job_doc(component=TOOL), components)


def test_unknown_input_key_lists_the_component_inputs() -> None:
    problems = problems_of(single_job_doc(component=TOOL, data={"url": "u", "branch": "main"}))
    assert problems == [
        Problem(
            f"{JOB_PATH}.data.branch",
            f"component {TOOL} has no input 'branch' (its inputs: url, mode)",
        )
    ]


def test_image_job_may_take_any_data_key() -> None:
    assert_valid(single_job_doc(image="busybox:1", data={"anything": "goes", "n": 1}))


# --- expressions that do not parse ------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"data": {"k": "${{ params.a = 1 }}"}}, "data.k"),
        ({"env": {"K": "${{ params.a"}}, "env.K"),
        ({"if_": "params.a =="}, "if"),
        ({"mounts": [{"source": "/src/${{ ) }}", "target": "/src"}]}, "mounts[0].source"),
    ],
)
def test_expression_that_does_not_parse_is_reported_where_it_is(
    fields: dict[str, Any], where: str
) -> None:
    [problem] = problems_of(single_job_doc(**fields, spec__params=[{"name": "a"}]))
    assert problem.path == f"{JOB_PATH}.{where}"
    assert problem.message.startswith("expression does not parse: ")


# --- references between jobs ------------------------------------------------------------


def image_job_with_output(name: str, **fields: Any) -> dict[str, Any]:
    return job(name, outputs=["OUT"], **fields)


def user_of(name: str, source: str) -> dict[str, Any]:
    return job(name, data={"in": f"${{{{ jobs.{source}.outputs.OUT }}}}"})


def test_reference_to_an_earlier_job_in_the_same_action_is_accepted() -> None:
    assert_valid(
        workflow_doc(
            stage("s", action("a", image_job_with_output("first"), user_of("second", "first")))
        )
    )


def test_reference_to_an_earlier_stage_is_accepted() -> None:
    assert_valid(
        workflow_doc(
            stage("one", action("a", image_job_with_output("first"))),
            stage("two", action("b", job("other")), action("c", user_of("second", "first"))),
        )
    )


def test_reference_to_an_earlier_action_of_a_sequence_stage_is_accepted() -> None:
    assert_valid(
        workflow_doc(
            stage(
                "s",
                action("a", image_job_with_output("first")),
                action("b", user_of("second", "first")),
                sequencing="sequence",
            )
        )
    )


def test_reference_to_a_parallel_job_in_the_same_stage_is_rejected() -> None:
    document = workflow_doc(
        stage(
            "s",
            action("a", image_job_with_output("first")),
            action("b", user_of("second", "first")),
        )
    )
    assert problems_of(document) == [
        Problem(
            f"{job_path(0, 1)}.data.in",
            "job 'first' has not finished when 'second' starts: "
            "it runs in parallel in the same stage",
        )
    ]


def test_reference_to_a_later_action_of_a_sequence_stage_is_rejected() -> None:
    document = workflow_doc(
        stage(
            "s",
            action("a", user_of("first", "second")),
            action("b", image_job_with_output("second")),
            sequencing="sequence",
        )
    )
    [message] = messages_at(problems_of(document), f"{JOB_PATH}.data.in")
    assert message.startswith("job 'second' has not finished when 'first' starts")


def test_reference_to_a_later_stage_is_rejected() -> None:
    document = workflow_doc(
        stage("one", action("a", user_of("early", "late"))),
        stage("two", action("b", image_job_with_output("late"))),
    )
    assert messages_at(problems_of(document), f"{JOB_PATH}.data.in") == [
        "job 'late' has not finished when 'early' starts: it runs in a later stage"
    ]


def test_reference_to_a_later_job_in_the_same_action_is_rejected() -> None:
    document = workflow_doc(
        stage("s", action("a", user_of("first", "second"), image_job_with_output("second")))
    )
    assert messages_at(problems_of(document), f"{JOB_PATH}.data.in") == [
        "job 'second' has not finished when 'first' starts: it comes later in the same action"
    ]


def test_reference_to_its_own_outputs_is_rejected() -> None:
    document = workflow_doc(
        stage(
            "s",
            action("a", job("self", outputs=["OUT"], data={"in": "${{ jobs.self.outputs.OUT }}"})),
        )
    )
    assert messages_at(problems_of(document), f"{JOB_PATH}.data.in") == [
        "job 'self' cannot use its own outputs"
    ]


def test_reference_to_a_job_that_does_not_exist_is_rejected() -> None:
    assert messages_at(
        problems_of(single_job_doc(data={"in": "${{ jobs.ghost.outputs.X }}"})),
        f"{JOB_PATH}.data.in",
    ) == ["'jobs.ghost.outputs.X' names no job 'ghost'"]


@pytest.mark.parametrize("reference", ["jobs.first", "jobs.first.outputs", "jobs.first.result.OUT"])
def test_malformed_job_reference_is_rejected(reference: str) -> None:
    document = workflow_doc(
        stage(
            "s",
            action(
                "a",
                image_job_with_output("first"),
                job("second", data={"in": f"${{{{ {reference} }}}}"}),
            ),
        )
    )
    assert messages_at(problems_of(document), f"{job_path(0, 0, 1)}.data.in") == [
        f"'{reference}' should look like jobs.<job>.outputs.<KEY>"
    ]


def test_references_in_env_and_if_are_checked_too() -> None:
    document = workflow_doc(
        stage(
            "s",
            action("a", image_job_with_output("first")),
            action(
                "b",
                job(
                    "second",
                    env={"X": "${{ jobs.first.outputs.OUT }}"},
                    if_="${{ jobs.first.outputs.OUT == 'yes' }}",
                ),
            ),
        )
    )
    problems = problems_of(document)
    assert {problem.path for problem in problems} == {
        f"{job_path(0, 1)}.env.X",
        f"{job_path(0, 1)}.if",
    }


# --- declared outputs -------------------------------------------------------------------


def test_output_declared_by_the_component_may_be_used() -> None:
    assert_valid(
        workflow_doc(
            stage("one", action("a", job("build", component=BUILDER))),
            stage(
                "two", action("b", job("use", data={"image": "${{ jobs.build.outputs.IMAGE }}"}))
            ),
        )
    )


def test_output_declared_by_the_job_adds_to_the_component_outputs() -> None:
    assert_valid(
        workflow_doc(
            stage("one", action("a", job("build", component=BUILDER, outputs=["DIGEST"]))),
            stage(
                "two",
                action(
                    "b",
                    job(
                        "use",
                        data={
                            "x": "${{ jobs.build.outputs.IMAGE }}@${{ jobs.build.outputs.DIGEST }}"
                        },
                    ),
                ),
            ),
        )
    )


def test_undeclared_output_is_rejected_with_the_declared_ones() -> None:
    document = workflow_doc(
        stage("one", action("a", job("build", component=BUILDER, outputs=["DIGEST"]))),
        stage("two", action("b", job("use", data={"x": "${{ jobs.build.outputs.TAG }}"}))),
    )
    assert problems_of(document) == [
        Problem(
            f"{job_path(1)}.data.x",
            "job 'build' does not declare output 'TAG' (it declares: DIGEST, IMAGE)",
        )
    ]


def test_image_job_without_declared_outputs_offers_none() -> None:
    document = workflow_doc(
        stage("one", action("a", job("plain"))),
        stage("two", action("b", user_of("use", "plain"))),
    )
    assert messages_at(problems_of(document), f"{job_path(1)}.data.in") == [
        "job 'plain' does not declare output 'OUT' (it declares: none)"
    ]


def test_reference_to_a_job_with_an_unknown_component_reports_only_the_component() -> None:
    document = workflow_doc(
        stage("one", action("a", job("build", component="demo/ghost@1.0.0"))),
        stage("two", action("b", user_of("use", "build"))),
    )
    assert problems_of(document) == [
        Problem(f"{JOB_PATH}.component", "unknown component demo/ghost")
    ]


# --- other references -------------------------------------------------------------------


def test_param_trigger_and_run_references_are_accepted() -> None:
    assert_valid(
        single_job_doc(
            data={"x": "${{ params.branch }} ${{ trigger.repository.url }} ${{ run.id }}"},
            spec__params=[{"name": "branch", "default": "main"}],
        )
    )


def test_undeclared_param_is_rejected() -> None:
    document = single_job_doc(data={"x": "${{ params.nope }}"}, spec__params=[{"name": "branch"}])
    assert problems_of(document) == [
        Problem(f"{JOB_PATH}.data.x", "'params.nope' names no declared param")
    ]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("params", "'params' should look like params.<name>"),
        ("run.name", "'run.name' is unknown; the run offers run.id"),
        (
            "env.HOME",
            "unknown reference 'env.HOME': "
            "references start with jobs, params, trigger, run, secrets",
        ),
    ],
)
def test_malformed_references_are_rejected(expression: str, message: str) -> None:
    document = single_job_doc(data={"x": f"${{{{ {expression} }}}}"})
    assert messages_at(problems_of(document), f"{JOB_PATH}.data.x") == [message]


def test_secrets_are_accepted_in_env() -> None:
    assert_valid(
        single_job_doc(env={"TOKEN": "${{ secrets.token }}"}, spec__env={"A": "${{ secrets.a }}"})
    )


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"data": {"token": "${{ secrets.token }}"}}, "data.token"),
        ({"if_": "secrets.token == 'x'"}, "if"),
        ({"mounts": [{"source": "/${{ secrets.token }}", "target": "/x"}]}, "mounts[0].source"),
    ],
)
def test_secrets_outside_env_are_rejected(fields: dict[str, Any], where: str) -> None:
    assert problems_of(single_job_doc(**fields)) == [
        Problem(
            f"{JOB_PATH}.{where}",
            "'secrets.token': secrets may only be used in env, where they are masked",
        )
    ]


# --- reserved names ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["CO_DATA", "CO_RESULT", "CO_RUN_ID", "CO_JOB", "CO_ATTEMPT"])
def test_reserved_env_names_are_rejected_in_job_and_workflow_env(name: str) -> None:
    problems = problems_of(single_job_doc(env={name: "x"}, spec__env={name: "y"}))
    message = f"{name} is reserved for ContainerOps and cannot be set"
    assert problems == [
        Problem(f"spec.env.{name}", message),
        Problem(f"{JOB_PATH}.env.{name}", message),
    ]


@pytest.mark.parametrize(
    ("key", "variable"),
    [
        ("result", "CO_RESULT"),
        ("data", "CO_DATA"),
        ("run-id", "CO_RUN_ID"),
        ("JOB", "CO_JOB"),
        ("attempt", "CO_ATTEMPT"),
    ],
)
def test_data_key_that_would_set_a_reserved_variable_is_rejected(key: str, variable: str) -> None:
    assert problems_of(single_job_doc(data={key: "x"})) == [
        Problem(
            f"{JOB_PATH}.data.{key}", f"data key '{key}' would set {variable}, which is reserved"
        )
    ]


def test_ordinary_co_variables_in_env_are_fine() -> None:
    assert_valid(single_job_doc(env={"CO_GIT_URL": "x"}))


# --- triggers ---------------------------------------------------------------------------


@pytest.mark.parametrize("cron", ["0 3 * * *", "*/15 * * * *", "0 0 ? * MON-FRI", "0 3 L * *"])
def test_good_cron_is_accepted(cron: str) -> None:
    assert_valid(single_job_doc(spec__triggers=[{"type": "schedule", "cron": cron}]))


@pytest.mark.parametrize(("cron", "why"), [
    ("daily", "it has 1 field(s), not 5 (minute hour day-of-month month day-of-week)"),
    ("0 3 * *", "it has 4 field(s), not 5 (minute hour day-of-month month day-of-week)"),
    ("0 3 * * * * *", "it has 7 field(s), not 5 (minute hour day-of-month month day-of-week)"),
    ("0 3 * * $", "its day-of-week field '$' is not valid"),
    ("61 3 * * *", "its minute field '61' is not valid"),
    ("0 0 31 2 *", "it never matches a date"),
])
def test_bad_cron_is_rejected(cron: str, why: str) -> None:
    assert problems_of(single_job_doc(spec__triggers=[{"type": "schedule", "cron": cron}])) == [
        Problem("spec.triggers[0].cron", f"'{cron}' is not a cron expression: {why}")
    ]


# --- everything at once -----------------------------------------------------------------


def test_schema_error_and_cross_field_error_are_reported_together() -> None:
    document = workflow_doc(
        stage(
            "one",
            action("a", job("early", colour="blue", data={"x": "${{ jobs.late.outputs.OUT }}"})),
        ),
        stage("two", action("b", image_job_with_output("late"))),
    )
    problems = problems_of(document)
    assert Problem(JOB_PATH, "unknown field 'colour'") in problems
    assert (
        Problem(
            f"{JOB_PATH}.data.x",
            "job 'late' has not finished when 'early' starts: it runs in a later stage",
        )
        in problems
    )


def test_every_problem_is_reported_at_once_each_once() -> None:
    document = workflow_doc(
        stage(
            "build",
            action(
                "a",
                job("one", component=TOOL, data={"bogus": 1, "result": "x"}),
                job("two", component="demo/tool@2.0.0"),
            ),
            action("a", job("one", component="demo/nope@1.0.0"), job("bad", component="nope")),
        ),
        stage(
            "build",
            action(
                "b",
                job(
                    "three",
                    env={"CO_DATA": "x"},
                    data={"k": "${{ secrets.s }}"},
                    if_="a ==",
                    mounts=[{"source": "${{ params.zz }}", "target": "/x"}],
                ),
            ),
        ),
        params=[{"name": "p"}, {"name": "p"}],
        env={"CO_RUN_ID": "x"},
        triggers=[{"type": "schedule", "cron": "daily"}],
        colour="red",
    )
    problems = problems_of(document)
    assert len(problems) == len(set(problems))
    assert {problem.path for problem in problems} == {
        "spec",
        "spec.params[1].name",
        "spec.stages[1].name",
        "spec.stages[0].actions[1].name",
        f"{job_path(0, 1, 0)}.name",
        "spec.env.CO_RUN_ID",
        "spec.triggers[0].cron",
        f"{JOB_PATH}.data",
        f"{JOB_PATH}.data.bogus",
        f"{JOB_PATH}.data.result",
        f"{job_path(0, 0, 1)}.component",
        f"{job_path(0, 1, 0)}.component",
        f"{job_path(0, 1, 1)}.component",
        f"{job_path(1)}.env.CO_DATA",
        f"{job_path(1)}.data.k",
        f"{job_path(1)}.if",
        f"{job_path(1)}.mounts[0].source",
    }


# --- components -------------------------------------------------------------------------


def test_valid_component_gives_its_model() -> None:
    checked = check_component(
        component_doc(TOOL, inputs=[required_input("url")], outputs=["IMAGE"])
    )
    assert checked.ok
    assert checked.model is not None
    assert checked.model.ref == TOOL


def test_component_problems_are_all_reported_with_paths() -> None:
    document = component_doc(
        TOOL, inputs=[{"name": "url", "kind": "x"}], timeout="soon", data_format="xml", colour="red"
    )
    document["metadata"]["version"] = "latest"
    checked = check_component(document)
    assert checked.model is None
    paths = {problem.path for problem in checked.problems}
    assert paths == {
        "spec.inputs[0]",
        "spec.timeout",
        "spec.data_format",
        "spec",
        "metadata.version",
    }


def test_component_requests_larger_than_limits_are_rejected() -> None:
    checked = check_component(
        component_doc(resources={"memory_request": "2Gi", "memory_limit": "1Gi"})
    )
    assert checked.problems == [
        Problem("spec.resources", "memory_request is larger than memory_limit")
    ]


def test_component_with_duplicate_input_names_is_rejected() -> None:
    checked = check_component(
        component_doc(inputs=[required_input("url"), optional_input("url", "x")])
    )
    assert [problem.path for problem in checked.problems] == ["spec.inputs[1].name"]


# --- names in words (issue: no raw regular expressions) ---------------------------------

def test_a_name_that_is_not_allowed_says_what_is_allowed_not_the_pattern() -> None:
    document = single_job_doc(name="build me!")
    document["metadata"]["name"] = "Bad_Name"
    problems = problems_of(document)
    assert messages_at(problems, "metadata.name") == [
        "'Bad_Name' is not allowed here: use lower-case letters, digits and '-' (not first or last),"
        " at most 63 characters"]
    assert messages_at(problems, f"{JOB_PATH}.name") == [
        "'build me!' is not allowed here: use letters, digits, '_' and '-', starting with a letter or a"
        " digit, at most 63 characters"]
    assert not any("pattern" in problem.message or "^" in problem.message for problem in problems)


def test_every_pattern_of_the_definitions_has_words() -> None:
    def patterns(node: Any) -> set[str]:
        if isinstance(node, dict):
            found = {node["pattern"]} if isinstance(node.get("pattern"), str) else set()
            return found.union(*(patterns(value) for value in node.values()))
        if isinstance(node, list):
            return set().union(*(patterns(value) for value in node))
        return set()

    used = patterns([json.loads(path.read_text(encoding="utf-8")) for path in SCHEMAS.glob("*.schema.json")])
    assert used and used <= set(PATTERN_IN_WORDS)
