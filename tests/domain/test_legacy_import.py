"""Import of original ContainerOps flow files (DESIGN §2, Import)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.domain.legacy_import import ImportResult, import_legacy_flow
from chalicelib.domain.models import Job, Workflow, dump_definition
from chalicelib.domain.validation import check_workflow
from chalicelib.errors import InvalidDefinition

EXAMPLE_FILE = Path(__file__).resolve().parents[2] / "examples" / "legacy" / "pytest-flow.yml"

LEGACY_FLOW = """
uri: containerops/python/pytest-flow
title: Python test flow
version: 1
tag: latest
timeout: 7200
stages:
  - type: start
    name: start
    title: Start stage
  - type: normal
    name: test-stage
    title: Test
    sequencing: sequence
    actions:
      - name: unit-action
        title: unit tests
        jobs:
          - type: component
            kind: ""
            endpoint: hub.opshub.sh/containerops/pytest:latest
            timeout: 900
            resources: {cpu: 2, memory: 4G}
            environments:
              - CO_DATA: "git-url=https://x.org/y.git entry-path=tests message='all green now'"
              - CO_VERSION: py3k
            outputs: [CO_XML_CONTENT]
  - type: normal
    name: report-stage
    title: Report
    actions:
      - name: report-action
        jobs:
          - type: component
            endpoint: hub.opshub.sh/containerops/junit-report:latest
            timeout: 0
            subscriptions:
              - "test-stage.unit-action.pytest[CO_XML_CONTENT]": CO_REPORT
  - type: end
    name: end
    title: End stage
"""


def legacy(text: str = LEGACY_FLOW) -> dict[str, Any]:
    document = yaml.safe_load(text)
    assert isinstance(document, dict)
    return document


def imported(document: object) -> ImportResult:
    return import_legacy_flow(document)


def job_of(workflow: Workflow, name: str) -> Job:
    job = workflow.job_named(name)
    assert job is not None, f"no job {name}: {[j.name for j in workflow.jobs()]}"
    return job


def problems_of(document: object) -> list[str]:
    with pytest.raises(InvalidDefinition) as raised:
        import_legacy_flow(document)
    return [str(problem) for problem in raised.value.problems]


def one_job_flow(job: dict[str, Any], *more_jobs: dict[str, Any]) -> dict[str, Any]:
    action = {"name": "make", "jobs": [job, *more_jobs]}
    stage = {"type": "normal", "name": "build", "actions": [action]}
    return {"uri": "demo/flow", "stages": [stage]}


# --- the documented example ---------------------------------------------------------------

def test_legacy_flow_converts_to_a_workflow_named_after_its_uri() -> None:
    workflow = imported(legacy()).workflow
    assert workflow.ref == "containerops/pytest-flow"
    assert workflow.metadata.description == "Python test flow"
    assert workflow.spec.timeout == 7200


def test_endpoint_becomes_the_image_and_co_data_becomes_the_data() -> None:
    job = job_of(imported(legacy()).workflow, "pytest")
    assert job.image == "hub.opshub.sh/containerops/pytest:latest"
    assert job.data == {
        "git-url": "https://x.org/y.git", "entry-path": "tests", "message": "all green now",
    }


def test_other_environments_become_env_and_outputs_timeout_resources_carry_over() -> None:
    job = job_of(imported(legacy()).workflow, "pytest")
    assert job.env == {"CO_VERSION": "py3k"}
    assert job.outputs == ["CO_XML_CONTENT"]
    assert job.timeout == 900
    assert job.resources.cpu_limit == 2
    assert job.resources.memory_limit == "4G"


def test_zero_timeout_means_no_timeout() -> None:
    assert job_of(imported(legacy()).workflow, "junit-report").timeout is None


def test_stage_sequencing_carries_over_and_defaults_to_parallel() -> None:
    stages = imported(legacy()).workflow.spec.stages
    assert [(stage.name, stage.sequencing) for stage in stages] == [
        ("test-stage", "sequence"), ("report-stage", "parallel"),
    ]


def test_subscription_becomes_a_reference_in_data_under_the_variable_it_set() -> None:
    job = job_of(imported(legacy()).workflow, "junit-report")
    assert job.data == {"report": "${{ jobs.pytest.outputs.CO_XML_CONTENT }}"}


def test_start_and_end_stages_are_dropped() -> None:
    stages = imported(legacy()).workflow.spec.stages
    assert [stage.name for stage in stages] == ["test-stage", "report-stage"]


def test_imported_example_passes_workflow_validation() -> None:
    document = dump_definition(imported(legacy()).workflow)
    assert check_workflow(document, InMemoryCatalog()).problems == []


def test_what_is_dropped_or_guessed_is_listed_as_warnings() -> None:
    warnings = "\n".join(imported(legacy()).warnings)
    assert "segment(s) python of 'containerops/python/pytest-flow' are dropped" in warnings
    assert "version '1' and tag 'latest' not imported" in warnings
    assert "stages[1].actions[0].jobs[0]: job has no name; named 'pytest' after its" in warnings


# --- names and links ----------------------------------------------------------------------

def test_nameless_jobs_get_unique_names_from_their_images() -> None:
    workflow = imported(one_job_flow(
        {"endpoint": "hub.opshub.sh/containerops/pytest:latest"},
        {"endpoint": "registry:5000/team/pytest@sha256:abc"},
        {"endpoint": "pytest"},
    )).workflow
    assert [job.name for job in workflow.jobs()] == ["pytest", "pytest-2", "pytest-3"]


def test_named_jobs_keep_their_names_before_nameless_ones_are_named() -> None:
    workflow = imported(one_job_flow(
        {"endpoint": "demo/pytest:1"},
        {"name": "pytest", "endpoint": "demo/other:1"},
        {"name": "lint.py", "endpoint": "demo/lint:1"},
    )).workflow
    assert [job.name for job in workflow.jobs()] == ["pytest-2", "pytest", "lint-py"]


def test_subscription_names_the_renamed_job_it_meant() -> None:
    document = one_job_flow(
        {"endpoint": "demo/pytest:1", "outputs": ["COVERAGE"]},
        {"name": "pytest", "endpoint": "demo/other:1"},
        {"endpoint": "demo/report:1",
         "subscriptions": {"build.make.demo/pytest:1[COVERAGE]": "CO_COVERAGE"}},
    )
    job = job_of(imported(document).workflow, "report")
    assert job.data == {"coverage": "${{ jobs.pytest-2.outputs.COVERAGE }}"}


def test_subscription_to_a_variable_without_co_prefix_goes_to_env() -> None:
    document = one_job_flow(
        {"name": "build", "endpoint": "demo/build:1", "outputs": ["CO_IMAGE_TAG"]},
        {"endpoint": "demo/deploy:1",
         "subscriptions": [{"build.make.build[CO_IMAGE_TAG]": "IMAGE_TAG"}]},
    )
    job = job_of(imported(document).workflow, "deploy")
    assert job.env == {"IMAGE_TAG": "${{ jobs.build.outputs.CO_IMAGE_TAG }}"}
    assert job.data == {}


def test_subscribed_output_that_was_not_listed_is_added_with_a_warning() -> None:
    document = one_job_flow(
        {"name": "build", "endpoint": "demo/build:1"},
        {"endpoint": "demo/deploy:1", "subscriptions": [{"build.make.build[CO_TAG]": "CO_TAG"}]},
    )
    result = imported(document)
    assert job_of(result.workflow, "build").outputs == ["CO_TAG"]
    added = "stages[0].actions[0].jobs[0].outputs: output 'CO_TAG' is subscribed to but not listed"
    assert any(warning.startswith(added) for warning in result.warnings)


def test_subscription_to_an_unknown_job_is_reported_with_its_path() -> None:
    document = legacy()
    subscriptions = document["stages"][2]["actions"][0]["jobs"][0]["subscriptions"]
    subscriptions[0] = {"test-stage.unit-action.nosetests[CO_XML_CONTENT]": "CO_REPORT"}
    [problem] = problems_of(document)
    assert problem.startswith("stages[2].actions[0].jobs[0].subscriptions[0]")
    assert "no job 'nosetests' in stage 'test-stage', action 'unit-action'" in problem


def test_subscription_to_a_job_that_has_not_finished_is_reported() -> None:
    document = one_job_flow(
        {"endpoint": "demo/report:1", "subscriptions": [{"build.make.build[CO_TAG]": "CO_TAG"}]},
        {"name": "build", "endpoint": "demo/build:1", "outputs": ["CO_TAG"]},
    )
    [problem] = problems_of(document)
    assert problem.startswith("stages[0].actions[0].jobs[0].subscriptions[0]")
    assert "has not finished when this job starts" in problem


def test_malformed_subscription_is_reported() -> None:
    document = one_job_flow({"endpoint": "demo/report:1", "subscriptions": [{"build": "CO_X"}]})
    [problem] = problems_of(document)
    assert "is not a subscription like <stage>.<action>.<job>[KEY]" in problem


# --- environments and resources -------------------------------------------------------------

def test_environments_may_be_a_plain_map_and_co_data_a_map() -> None:
    document = one_job_flow({"endpoint": "demo/build:1", "environments": {
        "CO_DATA": {"repo": "x", "depth": 1}, "GOFLAGS": "-mod=mod", "DEBUG": True,
    }})
    job = imported(document).workflow.jobs()[0]
    assert job.data == {"repo": "x", "depth": 1}
    assert job.env == {"GOFLAGS": "-mod=mod", "DEBUG": "true"}


def test_reserved_environment_names_are_skipped_with_a_warning() -> None:
    document = one_job_flow({"endpoint": "demo/build:1", "environments": [
        {"CO_RESULT": "true"}, {"CO_RUN_ID": "7"}, {"CI": "1"},
    ]})
    result = imported(document)
    assert result.workflow.jobs()[0].env == {"CI": "1"}
    assert (
        "stages[0].actions[0].jobs[0].environments[0].CO_RESULT: CO_RESULT is reserved "
        "for ContainerOps; skipped"
    ) in result.warnings


def test_unbalanced_quote_in_co_data_is_reported_with_its_path() -> None:
    document = one_job_flow({"endpoint": "demo/build:1",
                             "environments": [{"CO_DATA": "msg='not closed"}]})
    [problem] = problems_of(document)
    assert problem.startswith("stages[0].actions[0].jobs[0].environments[0].CO_DATA: ")


def test_docker_style_memory_is_read_in_binary_units_and_nonsense_is_dropped() -> None:
    document = one_job_flow(
        {"name": "a", "endpoint": "demo/a:1", "resources": {"memory": "512m", "cpu": "500m"}},
        {"name": "b", "endpoint": "demo/b:1", "resources": {"memory": "lots", "cpu": 0}},
    )
    result = imported(document)
    a, b = result.workflow.jobs()
    assert (a.resources.memory_limit, a.resources.cpu_limit) == ("512Mi", 0.5)
    assert (b.resources.memory_limit, b.resources.cpu_limit) == (None, None)
    assert any("memory 'lots' is not a quantity" in warning for warning in result.warnings)


# --- rejected documents --------------------------------------------------------------------

@pytest.mark.parametrize("stages", [None, [], [{"type": "start"}, {"type": "end"}]],
                         ids=["missing", "empty", "only-start-and-end"])
def test_flow_without_stages_to_import_is_rejected(stages: object) -> None:
    document: dict[str, Any] = {"uri": "demo/flow"}
    if stages is not None:
        document["stages"] = stages
    [problem] = problems_of(document)
    assert problem.startswith("stages: ")


@pytest.mark.parametrize("document", [["uri", "stages"], "uri: x", None, 3])
def test_document_that_is_not_a_mapping_is_rejected(document: object) -> None:
    [problem] = problems_of(document)
    assert "a legacy flow is a mapping" in problem


def test_new_format_definition_is_not_imported() -> None:
    [problem] = problems_of({"apiVersion": "containerops/v1", "kind": "Workflow"})
    assert "already a containerops/v1 definition" in problem


def test_every_problem_is_reported_at_once_with_legacy_paths() -> None:
    document = legacy()
    del document["uri"]
    document["stages"][1]["sequencing"] = "sideways"
    document["stages"][1]["actions"][0]["jobs"][0]["outputs"] = ["not an output"]
    del document["stages"][2]["actions"][0]["jobs"][0]["endpoint"]
    paths = [problem.split(": ")[0] for problem in problems_of(document)]
    assert paths == [
        "uri",
        "stages[1].sequencing",
        "stages[1].actions[0].jobs[0].outputs[0]",
        "stages[2].actions[0].jobs[0].endpoint",
    ]


# --- the example file ------------------------------------------------------------------------

def test_example_legacy_file_imports_and_passes_validation() -> None:
    result = imported(yaml.safe_load(EXAMPLE_FILE.read_text(encoding="utf-8")))
    workflow = result.workflow
    assert workflow.ref == "containerops/pytest-flow"
    assert [job.name for job in workflow.jobs()] == [
        "analysis-python-pylint", "pytest", "publish-junit-report",
    ]
    assert job_of(workflow, "pytest").data["pytest-args"] == "-q -x"
    assert job_of(workflow, "publish-junit-report").data == {
        "title": "Unit tests",
        "report": "${{ jobs.pytest.outputs.CO_XML_CONTENT }}",
        "lint-score": "${{ jobs.analysis-python-pylint.outputs.CO_PYLINT_SCORE }}",
    }
    assert check_workflow(dump_definition(workflow), InMemoryCatalog()).problems == []
