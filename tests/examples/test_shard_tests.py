"""The shard-tests example component on its own image, and the sharded-tests workflow.

Each shard is started as the drivers will start an instance of the workflow's `test` job
(its CO_SHARD_* variables from the definition's own expansion), but with `docker run`,
so the component is proved before the drivers run fan-out jobs: the shards partition the
generated suite exactly, and the summing script gets the total from the JSON list a
fan-out job's outputs become.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
import yaml

from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.domain.fanout import expand, instance_count
from chalicelib.domain.models import Component, Workflow
from chalicelib.domain.validation import check_component, check_workflow

pytestmark = pytest.mark.docker

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
COMPONENT = EXAMPLES / "components/shard-tests/component.yaml"
WORKFLOW = EXAMPLES / "workflows/sharded-tests.yaml"
IMAGE = "containerops/shard-tests:1.0.0"
SUITE = 5000
CASE = re.compile(r"^(ok|not ok) (\d+) - ")


@dataclass
class Ran:
    exit_code: int
    lines: list[str]
    errors: str

    @property
    def outputs(self) -> dict[str, str]:
        pairs = (re.fullmatch(r"\[COUT\] (\w+) = (.*)", line) for line in self.lines)
        return {match[1]: match[2] for match in pairs if match}

    @property
    def cases(self) -> list[int]:
        return [int(match[2]) for match in map(CASE.match, self.lines) if match]

    @property
    def failed_cases(self) -> list[int]:
        return [int(match[2]) for match in map(CASE.match, self.lines) if match and match[1] == "not ok"]


@pytest.fixture(scope="module")
def image(docker_engine: docker.DockerClient) -> str:
    try:
        docker_engine.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"image {IMAGE} is missing: run `make images` first")
    return IMAGE


def run(image: str, env: Mapping[str, str | int], *command: str) -> Ran:
    options = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    done = subprocess.run(["docker", "run", "--rm", "--network", "none", *options, image, *command],
                          capture_output=True, text=True, timeout=60, check=False)
    return Ran(done.returncode, done.stdout.splitlines(), done.stderr)


def run_shards(image: str, count: int, **data: str | int) -> list[Ran]:
    env = {f"CO_{key.upper()}": value for key, value in data.items()}
    shards = [{**env, "CO_SHARD_INDEX": i, "CO_SHARD_COUNT": count} for i in range(count)]
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda shard: run(image, shard), shards))


def example_catalog() -> InMemoryCatalog:
    catalog = InMemoryCatalog()
    for path in sorted(EXAMPLES.glob("components/*/component.yaml")):
        catalog.add(Component.model_validate(yaml.safe_load(path.read_text())))
    return catalog


def sharded_tests() -> Workflow:
    checked = check_workflow(yaml.safe_load(WORKFLOW.read_text()), example_catalog())
    assert checked.model is not None and not checked.problems, checked.problems
    return checked.model


# --- the test component --------------------------------------------------------------------

def test_the_workflows_shards_run_every_case_of_the_suite_exactly_once(image: str) -> None:
    job = sharded_tests().job_named("test")
    assert job is not None
    envs = [{"CO_TESTS": SUITE, "CO_SHARD_INDEX": i.shard, "CO_SHARD_COUNT": i.shard_count}
            for i in expand(job)]
    with ThreadPoolExecutor(4) as pool:
        shards = list(pool.map(lambda env: run(image, env), envs))

    assert all(shard.exit_code == 0 for shard in shards), [s.errors for s in shards if s.exit_code]
    ran = [case for shard in shards for case in shard.cases]
    assert ran == list(range(SUITE))  # every case once, shard after shard in instance order
    assert sum(int(shard.outputs["TESTS"]) for shard in shards) == SUITE
    assert {shard.outputs["FAILED"] for shard in shards} == {"0"}
    assert {shard.outputs["CO_RESULT"] for shard in shards} == {"true"}


def test_the_shards_run_the_same_cases_as_one_unsharded_run(image: str) -> None:
    whole = run(image, {"CO_TESTS": 300})
    shards = run_shards(image, 7, tests=300)

    case_lines = [line for shard in shards for line in shard.lines if CASE.match(line)]
    assert case_lines == [line for line in whole.lines if CASE.match(line)]
    assert len(case_lines) == 300 and whole.outputs["TESTS"] == "300"


def test_uneven_shards_differ_in_size_by_at_most_one_case(image: str) -> None:
    sizes = [int(shard.outputs["TESTS"]) for shard in run_shards(image, 7, tests=100)]

    assert sum(sizes) == 100 and max(sizes) - min(sizes) == 1


def test_shards_beyond_the_suites_size_run_no_case_and_succeed(image: str) -> None:
    shards = run_shards(image, 5, tests=3)

    assert [shard.outputs["TESTS"] for shard in shards] == ["0", "1", "0", "1", "1"]
    assert all(shard.exit_code == 0 and shard.outputs["CO_RESULT"] == "true" for shard in shards)


def test_a_broken_case_fails_its_own_shard_and_says_which_case(image: str) -> None:
    shards = run_shards(image, 4, tests=100, **{"break": "30,60,61"})

    assert [shard.failed_cases for shard in shards] == [[], [30], [60, 61], []]
    assert [shard.exit_code != 0 for shard in shards] == [False, True, True, False]
    assert [shard.outputs["FAILED"] for shard in shards] == ["0", "1", "2", "0"]
    assert shards[2].outputs["CO_RESULT"] == "false"
    assert "2 of 25 cases failed in shard 2 of 4" in shards[2].errors


@pytest.mark.parametrize(("index", "count", "says"), [
    ("4", "4", "CO_SHARD_INDEX 4 is not below CO_SHARD_COUNT 4"),
    ("0", "0", "CO_SHARD_COUNT must be a whole number of at least 1, got '0'"),
    ("-1", "4", "CO_SHARD_INDEX must be a whole number, got '-1'"),
])
def test_shard_variables_out_of_range_fail_saying_why(image: str, index: str, count: str, says: str) -> None:
    shard = run(image, {"CO_SHARD_INDEX": index, "CO_SHARD_COUNT": count})

    assert shard.exit_code != 0 and shard.outputs == {"CO_RESULT": "false"}
    assert says in shard.errors


# --- the summing job's script ---------------------------------------------------------------

def total(image: str, **data: str) -> Ran:
    return run(image, {f"CO_{key.upper()}": value for key, value in data.items()}, "co-shard-sum")


def test_the_sum_adds_up_a_json_list_of_counts_in_instance_order(image: str) -> None:
    summed = total(image, counts=json.dumps([250] * 20), failed=json.dumps([0] * 20), expected="5000")

    assert summed.exit_code == 0, summed.errors
    assert summed.outputs == {"SHARDS": "20", "TOTAL": "5000", "FAILED": "0", "CO_RESULT": "true"}


def test_the_sum_reads_counts_given_as_json_strings_too(image: str) -> None:
    summed = total(image, counts=json.dumps(["2500", "2499", "1"]), expected="5000")

    assert summed.exit_code == 0 and summed.outputs["TOTAL"] == "5000"


def test_the_sum_fails_when_the_shards_did_not_run_the_whole_suite(image: str) -> None:
    summed = total(image, counts="[250, 250]", expected="5000")

    assert summed.exit_code != 0 and summed.outputs["CO_RESULT"] == "false"
    assert summed.outputs["TOTAL"] == "500"
    assert "the shards ran 500 cases, but the suite has 5000" in summed.errors


def test_the_sum_reads_the_lists_from_the_groups_folder_for_any_number_of_shards(
        image: str, tmp_path: Path) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "TESTS.json").write_text(json.dumps(["1"] * 10_000))
    (lists / "FAILED.json").write_text(json.dumps(["0"] * 10_000))
    lists.chmod(0o755)
    done = subprocess.run(["docker", "run", "--rm", "--network", "none", "--user", "1000:1000",
                           "-v", f"{lists}:/workspace/lists:ro", "-e", "CO_LISTS=/workspace/lists",
                           "-e", "CO_EXPECTED=10000", image, "co-shard-sum"],
                          capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode == 0, done.stderr
    assert "[COUT] SHARDS = 10000" in done.stdout and "[COUT] TOTAL = 10000" in done.stdout


def test_the_sum_says_when_the_lists_folder_has_no_counts(image: str) -> None:
    summed = total(image, lists="/nowhere", expected="5000")

    assert summed.exit_code != 0 and summed.outputs["CO_RESULT"] == "false"
    assert "input 'lists' is '/nowhere', which holds no readable TESTS.json" in summed.errors


@pytest.mark.parametrize(("counts", "says"), [
    ("[250, null, 250]", "input 'counts' has null for shard 1: that shard gave no count"),
    ("250", "input 'counts' must be a JSON list of counts"),
    ('[250, "x*"]', "input 'counts' holds 'x*', which is not a whole number"),
    ("[]", "input 'counts' is an empty list: no shard reported"),
])
def test_the_sum_refuses_a_list_it_cannot_add_up(image: str, counts: str, says: str) -> None:
    summed = total(image, counts=counts, expected="500")

    assert summed.exit_code != 0 and summed.outputs["CO_RESULT"] == "false"
    assert says in summed.errors


# --- the definitions ------------------------------------------------------------------------

def test_the_component_definition_is_valid_and_names_the_image_built_here() -> None:
    checked = check_component(yaml.safe_load(COMPONENT.read_text()))

    assert checked.model is not None and not checked.problems, checked.problems
    assert checked.model.spec.image == IMAGE
    assert [output.name for output in checked.model.spec.outputs] == ["TESTS", "FAILED"]


def test_the_workflow_validates_and_fans_its_test_job_out_over_20_shards() -> None:
    workflow = sharded_tests()
    test, summing = workflow.job_named("test"), workflow.job_named("total")

    assert test is not None and summing is not None
    assert instance_count(test) == 20
    assert [(i.index, i.shard, i.shard_count) for i in expand(test)][::19] == [(0, 0, 20), (19, 19, 20)]
    assert summing.data["lists"] == "${{ jobs.test.outputs.CO_LISTS_DIR }}"
    assert summing.data["expected"] == test.data["tests"] == "${{ params.tests }}"
    assert workflow.spec.params[0].default == SUITE
