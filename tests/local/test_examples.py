"""The example workflows run end to end on real containers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from chalicelib.domain.states import JobState, RunState
from tests.local.conftest import EXAMPLES, Harness


def test_hello_greets_the_param_and_returns_the_greeting(harness: Harness) -> None:
    finished = harness.run((EXAMPLES / "workflows/hello.yaml").read_text(), who="ContainerOps")

    assert finished.run.status is RunState.SUCCEEDED
    assert finished.jobs["hello"].outputs == {"GREETING": "Hello, ContainerOps!"}
    assert "Hello, ContainerOps!" in finished.logs("hello")


def test_ci_clones_lints_tests_packages_and_releases_the_sample(
    harness: Harness, tmp_path: Path
) -> None:
    repo, releases = tmp_path / "sample.git", tmp_path / "releases"
    subprocess.run(["bash", str(EXAMPLES / "make-sample-repo.sh"), str(repo)], check=True,
                   capture_output=True)
    releases.mkdir()
    releases.chmod(0o777)
    harness.use_example_components()

    finished = harness.run((EXAMPLES / "workflows/ci.yaml").read_text(),
                           **{"repo-dir": str(repo), "release-dir": str(releases)})

    assert finished.run.status is RunState.SUCCEEDED, finished.run.reason
    jobs = finished.jobs
    commit = jobs["clone"].outputs["COMMIT"]
    assert len(commit) == 40
    assert int(jobs["test"].outputs["TESTS"]) > 0 and jobs["test"].outputs["FAILURES"] == "0"
    assert any("passed" in line for line in finished.logs("test")), "pytest really ran"
    assert commit in jobs["package"].outputs["ARTIFACT"]
    released = releases / Path(jobs["package"].outputs["ARTIFACT"]).name
    assert released.is_file()
    assert jobs["package"].outputs["SHA256"] in (releases / f"{released.name}.sha256").read_text()


def test_failing_example_fails_and_never_runs_its_deploy_stage(harness: Harness) -> None:
    finished = harness.run((EXAMPLES / "workflows/failing.yaml").read_text())

    assert finished.run.status is RunState.FAILED
    assert finished.jobs["check"].status is JobState.FAILED
    assert finished.jobs["check"].reason == "component reported CO_RESULT = false"
    assert finished.jobs["deploy"].status is JobState.SKIPPED
    assert "check" in finished.run.reason


def test_retry_example_succeeds_on_its_second_attempt_with_both_attempts_logged(
    harness: Harness,
) -> None:
    finished = harness.run((EXAMPLES / "workflows/retry.yaml").read_text())

    assert finished.run.status is RunState.SUCCEEDED
    flaky = finished.jobs["flaky"]
    assert flaky.attempts == 2 and flaky.outputs == {"ATTEMPTS": "2"}
    attempts = harness.store.list_attempts(finished.run.id, "flaky")
    assert [a.status.value for a in attempts] == ["failed", "succeeded"]
    assert "attempt 1" in finished.logs("flaky", attempt=1)
    assert "attempt 2" in finished.logs("flaky", attempt=2)


def test_sharded_tests_runs_the_suite_in_twenty_shards_and_adds_up_their_counts(
    harness: Harness,
) -> None:
    harness.use_example_components()

    finished = harness.run((EXAMPLES / "workflows/sharded-tests.yaml").read_text())

    assert finished.run.status is RunState.SUCCEEDED, finished.run.reason
    test, total = finished.jobs["test"], finished.jobs["total"]
    assert test.outputs["CO_INSTANCES"] == "20" and test.outputs["CO_INSTANCES_SUCCEEDED"] == "20"
    assert sum(int(count) for count in json.loads(test.outputs["TESTS"])) == 5000
    assert harness.store.instance_counts(finished.run.id, "test") == {JobState.SUCCEEDED: 20}
    assert total.outputs["SHARDS"] == "20" and total.outputs["TOTAL"] == "5000"
    assert total.outputs["FAILED"] == "0"
