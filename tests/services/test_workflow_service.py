"""The workflow use cases, without HTTP: versions, optimistic saves, checks, export."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib.domain.host_mounts import MountPolicy
from chalicelib.domain.models import Workflow
from chalicelib.domain.platforms import Platform
from chalicelib.domain.states import RunState
from chalicelib.engine.records import RunRecord
from chalicelib.errors import Conflict, InvalidDefinition, NotFound
from chalicelib.services.workflow_service import WorkflowService
from chalicelib.store.catalog import StoreCatalog
from chalicelib.store.sqlite import SqliteStore
from tests.services.conftest import example


def _ci(description: str | None = None) -> dict[str, Any]:
    document = example("workflows/ci.yaml")
    if description is not None:
        document["metadata"]["description"] = description
    return document


def _paths(error: pytest.ExceptionInfo[InvalidDefinition]) -> list[str]:
    return [problem.path for problem in error.value.problems]


# --- create ----------------------------------------------------------------------------

def test_create_saves_version_one_enabled_and_shows_the_webhook_secret_once(
    workflows: WorkflowService, published: None, store: SqliteStore
) -> None:
    created = workflows.create("examples", _ci())
    assert (created["version"], created["enabled"]) == (1, True)
    assert created["webhook_secret"] == store.get_workflow_settings("examples", "ci").webhook_secret
    assert "webhook_secret" not in workflows.get("examples", "ci")
    assert "webhook_secret" not in workflows.list_summaries("examples")["workflows"][0]


def test_create_of_an_existing_workflow_is_a_conflict(workflows: WorkflowService, published: None) -> None:
    workflows.create("examples", _ci())
    with pytest.raises(Conflict, match="already exists"):
        workflows.create("examples", _ci("again"))


def test_create_reports_every_problem_with_its_path(workflows: WorkflowService) -> None:
    document = _ci()
    document["spec"]["colour"] = "red"
    with pytest.raises(InvalidDefinition) as raised:
        workflows.create("other", document)
    paths = _paths(raised)
    assert "spec" in paths
    assert "metadata.namespace" in paths
    assert "spec.stages[0].actions[0].jobs[0].component" in paths


def test_the_name_check_is_reserved_for_the_api(workflows: WorkflowService) -> None:
    document = example("workflows/hello.yaml")
    document["metadata"]["name"] = "check"
    with pytest.raises(InvalidDefinition) as raised:
        workflows.create("examples", document)
    assert _paths(raised) == ["metadata.name"]
    assert workflows.check("examples", document)["valid"] is False


# --- check -----------------------------------------------------------------------------

def test_check_validates_without_saving(
    workflows: WorkflowService, published: None, store: SqliteStore
) -> None:
    assert workflows.check("examples", _ci()) == {"valid": True, "problems": []}
    broken = _ci()
    del broken["spec"]["stages"]
    answer = workflows.check("examples", broken)
    assert answer["valid"] is False
    assert answer["problems"] == [{"path": "spec", "message": "required field 'stages' is missing"}]
    assert store.list_workflows() == []


def test_check_of_a_non_mapping_is_a_problem_not_a_crash(workflows: WorkflowService) -> None:
    answer = workflows.check("examples", ["stages"])
    assert answer["valid"] is False
    assert answer["problems"][0]["path"] == ""


# --- update ----------------------------------------------------------------------------

def test_update_from_the_latest_version_saves_the_next(workflows: WorkflowService, published: None) -> None:
    workflows.create("examples", _ci())
    saved = workflows.update("examples", "ci", 1, _ci("second"))
    assert saved["version"] == 2
    assert saved == workflows.get("examples", "ci")


def test_update_from_a_stale_version_names_both_and_keeps_both(
    workflows: WorkflowService, published: None
) -> None:
    first = workflows.create("examples", _ci())
    workflows.update("examples", "ci", 1, _ci("second"))
    with pytest.raises(Conflict) as raised:
        workflows.update("examples", "ci", 1, _ci("third"))
    assert "version 1" in str(raised.value)
    assert "version 2" in str(raised.value)
    assert workflows.get("examples", "ci", 1)["definition"] == first["definition"]
    assert workflows.get("examples", "ci")["definition"]["metadata"]["description"] == "second"


def test_two_saves_at_once_from_the_same_version_one_wins_and_none_is_lost(
    workflows: WorkflowService, published: None
) -> None:
    workflows.create("examples", _ci())
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def save(editor: str) -> None:
        barrier.wait()
        try:
            workflows.update("examples", "ci", 1, _ci(editor))
            outcomes[editor] = "saved"
        except Conflict:
            outcomes[editor] = "conflict"

    threads = [threading.Thread(target=save, args=(editor,)) for editor in ("alice", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["conflict", "saved"]
    winner = next(editor for editor, outcome in outcomes.items() if outcome == "saved")
    latest = workflows.get("examples", "ci")
    assert latest["version"] == 2
    assert latest["definition"]["metadata"]["description"] == winner
    assert workflows.get("examples", "ci", 1)["definition"]["metadata"]["description"].startswith("Clone")


def test_update_may_not_rename_or_move_the_workflow(workflows: WorkflowService, published: None) -> None:
    workflows.create("examples", _ci())
    renamed = _ci()
    renamed["metadata"]["name"] = "ci2"
    with pytest.raises(InvalidDefinition) as raised:
        workflows.update("examples", "ci", 1, renamed)
    assert _paths(raised) == ["metadata.name"]
    moved = _ci()
    moved["metadata"]["namespace"] = "other"
    with pytest.raises(InvalidDefinition) as raised:
        workflows.update("examples", "ci", 1, moved)
    assert _paths(raised) == ["metadata.namespace"]


def test_update_of_an_unknown_or_deleted_workflow_is_not_found(
    workflows: WorkflowService, published: None
) -> None:
    with pytest.raises(NotFound):
        workflows.update("examples", "ci", 1, _ci())
    workflows.create("examples", _ci())
    workflows.delete("examples", "ci")
    with pytest.raises(NotFound):
        workflows.update("examples", "ci", 1, _ci())


def test_a_workflow_may_use_a_deprecated_component(
    workflows: WorkflowService, published: None, store: SqliteStore
) -> None:
    store.set_component_deprecated("containerops", "pytest", "1.0.0", True)
    assert workflows.create("examples", _ci())["version"] == 1


# --- read, export, list ----------------------------------------------------------------

def test_the_yaml_export_round_trips_through_the_models(workflows: WorkflowService, published: None) -> None:
    workflows.create("examples", _ci())
    workflows.update("examples", "ci", 1, _ci("second"))
    exported = yaml.safe_load(workflows.export_yaml("examples", "ci", 1))
    assert Workflow.model_validate(exported) == Workflow.model_validate(_ci())
    assert yaml.safe_load(workflows.export_yaml("examples", "ci"))["metadata"]["description"] == "second"


def test_the_versions_are_listed_newest_first_with_when_each_was_saved_and_which_is_latest(
    workflows: WorkflowService, published: None
) -> None:
    workflows.create("examples", _ci())
    workflows.update("examples", "ci", 1, _ci("second"))
    listed = workflows.versions("examples", "ci")
    assert (listed["namespace"], listed["name"]) == ("examples", "ci")
    assert [(v["version"], v["latest"]) for v in listed["versions"]] == [(2, True), (1, False)]
    assert [v["created_at"] for v in listed["versions"]] == [
        workflows.get("examples", "ci", n)["created_at"] for n in (2, 1)]


def test_the_versions_of_an_unknown_or_deleted_workflow_are_not_found(
    workflows: WorkflowService, published: None
) -> None:
    with pytest.raises(NotFound, match="examples/ci"):
        workflows.versions("examples", "ci")
    workflows.create("examples", _ci())
    workflows.delete("examples", "ci")
    with pytest.raises(NotFound, match="examples/ci"):
        workflows.versions("examples", "ci")


def test_unknown_workflows_and_versions_are_not_found(workflows: WorkflowService, published: None) -> None:
    workflows.create("examples", _ci())
    for call in (lambda: workflows.get("examples", "nothing"), lambda: workflows.get("examples", "ci", 2),
                 lambda: workflows.export_yaml("other", "ci"), lambda: workflows.delete("examples", "x"),
                 lambda: workflows.set_enabled("examples", "x", False)):
        with pytest.raises(NotFound):
            call()


def test_summaries_count_jobs_and_say_whether_enabled(workflows: WorkflowService, published: None) -> None:
    workflows.create("examples", _ci())
    workflows.create("examples", example("workflows/hello.yaml"))
    disabled = workflows.set_enabled("examples", "hello", False)
    assert (disabled["name"], disabled["enabled"], disabled["jobs"]) == ("hello", False, 1)
    summaries = workflows.list_summaries("examples")["workflows"]
    assert [(s["name"], s["enabled"], s["jobs"]) for s in summaries] == [("ci", True, 5), ("hello", False, 1)]
    assert workflows.list_summaries("other") == {"workflows": []}


def test_summaries_carry_the_description_and_the_newest_run(
    workflows: WorkflowService, store: SqliteStore, published: None
) -> None:
    workflows.create("examples", _ci())
    workflows.create("examples", example("workflows/hello.yaml"))
    for run_id, at, status in [("r1", 10.0, RunState.FAILED), ("r2", 20.0, RunState.SUCCEEDED)]:
        store.create_run(RunRecord(id=run_id, namespace="examples", workflow="hello", workflow_version=1,
                                   status=status, created_at=at, started_at=at + 1, finished_at=at + 5), [])
    summaries = {s["name"]: s for s in workflows.list_summaries("examples")["workflows"]}
    assert summaries["hello"]["description"] == example("workflows/hello.yaml")["metadata"]["description"]
    assert summaries["hello"]["last_run"] == {"id": "r2", "status": "succeeded", "reason": "",
                                              "created_at": 20.0, "started_at": 21.0, "finished_at": 25.0}
    assert summaries["ci"]["last_run"] is None


def test_a_deleted_workflow_keeps_its_versions_readable_by_number_as_not_enabled(
    workflows: WorkflowService, published: None
) -> None:
    created = workflows.create("examples", _ci())
    workflows.delete("examples", "ci")
    with pytest.raises(NotFound):
        workflows.get("examples", "ci")
    assert workflows.list_summaries("examples") == {"workflows": []}
    pinned = workflows.get("examples", "ci", 1)
    assert pinned["definition"] == created["definition"]
    assert pinned["enabled"] is False
    revived = workflows.create("examples", _ci("back"))
    assert revived["version"] == 2


def test_on_aws_a_workflow_with_host_mounts_is_refused_with_the_paths(
    store: SqliteStore, published: None
) -> None:
    cloud = WorkflowService(store, StoreCatalog(store), cloud=True)
    with pytest.raises(InvalidDefinition) as raised:
        cloud.create("examples", _ci())
    assert _paths(raised) == ["spec.stages[0].actions[0].jobs[0].mounts",
                              "spec.stages[3].actions[0].jobs[0].mounts"]
    assert cloud.check("examples", _ci())["valid"] is False
    assert WorkflowService(store, StoreCatalog(store)).check("examples", _ci())["valid"] is True


def test_on_aws_each_saved_version_is_told_so_its_state_machine_is_ready(
    store: SqliteStore, published: None
) -> None:
    saved: list[tuple[str, str, int]] = []
    document = _ci()
    for stage in document["spec"]["stages"]:
        for job in stage["actions"][0]["jobs"]:
            job.pop("mounts", None)  # a host path: refused on AWS
    cloud = WorkflowService(store, StoreCatalog(store), cloud=True,
                            on_saved=lambda ns, name, version: saved.append((ns, name, version)))
    cloud.create("examples", document)
    cloud.update("examples", "ci", 1, document)
    assert saved == [("examples", "ci", 1), ("examples", "ci", 2)]


def test_on_aws_without_an_eks_cluster_a_workflow_on_eks_is_refused_where_it_says_so(
    store: SqliteStore, published: None
) -> None:
    document = _ci()
    for stage in document["spec"]["stages"]:
        for job in stage["actions"][0]["jobs"]:
            job.pop("mounts", None)
    document["spec"]["platform"] = "eks"
    fargate_only = WorkflowService(store, StoreCatalog(store), cloud=True, platforms={Platform.FARGATE})
    with pytest.raises(InvalidDefinition) as raised:
        fargate_only.create("examples", document)
    assert _paths(raised) == ["spec.platform"]
    with_a_cluster = WorkflowService(store, StoreCatalog(store), cloud=True, platforms=set(Platform))
    assert with_a_cluster.create("examples", document)["version"] == 1


# --- host mounts (serve --allow-mount) ----------------------------------------------------

def _with_written_mounts(document: dict[str, Any], *sources: str) -> dict[str, Any]:
    """The ci example with its first job's mount sources written out in full."""
    clone = document["spec"]["stages"][0]["actions"][0]["jobs"][0]
    clone["mounts"] = [{"source": source, "target": f"/m{i}"} for i, source in enumerate(sources)]
    return document


def test_a_mount_written_out_outside_the_allowed_roots_is_refused_at_its_path(
    store: SqliteStore, published: None, tmp_path: Path
) -> None:
    (tmp_path / "allowed").mkdir()
    served = WorkflowService(store, StoreCatalog(store),
                             mounts=MountPolicy.allowing([tmp_path / "allowed"]))
    document = _with_written_mounts(_ci(), f"{tmp_path}/allowed", f"{tmp_path}/allowed-not")
    with pytest.raises(InvalidDefinition) as raised:
        served.create("examples", document)
    [problem] = raised.value.problems
    assert problem.path == "spec.stages[0].actions[0].jobs[0].mounts[1].source"
    assert f"{tmp_path}/allowed-not is outside the folders" in problem.message
    checked = served.check("examples", document)
    assert checked["valid"] is False and checked["problems"][0]["path"] == problem.path


def test_mounts_built_by_expressions_are_left_to_launch_and_allowed_ones_are_saved(
    store: SqliteStore, published: None, tmp_path: Path
) -> None:
    served = WorkflowService(store, StoreCatalog(store), mounts=MountPolicy.allowing([tmp_path]))
    assert served.create("examples", _ci())["version"] == 1  # its sources are ${{ params.* }}
    document = _with_written_mounts(_ci(), str(tmp_path))
    assert served.update("examples", "ci", 1, document)["version"] == 2


def test_a_server_without_roots_refuses_every_written_out_host_mount(
    workflows: WorkflowService, published: None
) -> None:
    with pytest.raises(InvalidDefinition) as raised:
        workflows.create("examples", _with_written_mounts(_ci(), "/tmp"))
    assert "this server allows no host mounts" in raised.value.problems[0].message
