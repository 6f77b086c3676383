"""RunService and RunRecorder on a real SQLite file, with a recording dispatcher, fixed ids
and a fixed clock."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.models import Workflow
from chalicelib.domain.states import JobState, RunState
from chalicelib.engine.records import EVERY_JOB, FROM_FAILURE, RerunKind, RerunScope
from chalicelib.errors import Conflict, InvalidDefinition, InvalidRequest, NotFound
from chalicelib.services.dispatch import RecordingDispatcher
from chalicelib.services.run_service import (
    RunQuery,
    RunRecorder,
    RunService,
    new_run_id,
    params_from_request,
    parse_time,
    rerun_scope_from_request,
)
from chalicelib.services.run_views import run_summary
from chalicelib.store.sqlite import SqliteStore
from tests.builders import action, job, stage, workflow_doc

EPOCH = 1_700_000_000.0


class Clock:
    """Each reading is one second after the previous one."""

    def __init__(self, start: float = EPOCH) -> None:
        self.now = start - 1

    def __call__(self) -> float:
        self.now += 1
        return self.now


def counting_ids() -> Any:
    counter = itertools.count(1)
    return lambda now: f"20231114-221320-{next(counter):08x}"


def save(store: SqliteStore, name: str = "ci", namespace: str = "demo", **spec: Any) -> int:
    document = workflow_doc(stage("build", action("a", job("compile"), job("pack"))), **spec)
    document["metadata"] = {"namespace": namespace, "name": name}
    return store.save_workflow(Workflow.model_validate(document))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "store.db") as store:
        yield store


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    return RecordingDispatcher()


@pytest.fixture
def service(store: SqliteStore, dispatcher: RecordingDispatcher) -> RunService:
    return RunService(store, dispatcher, clock=Clock(), new_id=counting_ids())


def finish(store: SqliteStore, run_id: str, status: RunState) -> None:
    store.save_run(replace(store.get_run(run_id), status=status))


# --- starting ---------------------------------------------------------------------------


def test_starting_a_run_queues_it_and_submits_it(
    service: RunService, store: SqliteStore, dispatcher: RecordingDispatcher
) -> None:
    save(store, params=[{"name": "branch", "default": "main"}])
    run = service.start("demo", "ci", {})
    assert run.id == "20231114-221320-00000001" and run.created_at == EPOCH
    assert run.status is RunState.QUEUED
    assert run.params == {"branch": "main"} and run.trigger == {"type": "api"}
    assert store.get_run(run.id) == run
    assert [(j.name, j.status) for j in store.list_jobs(run.id)] == [
        ("compile", JobState.PENDING), ("pack", JobState.PENDING)]
    assert dispatcher.submitted == [run.id]


def test_a_run_pins_the_latest_version_of_its_workflow(service: RunService, store: SqliteStore) -> None:
    save(store)
    save(store, env={"X": "2"})
    assert service.start("demo", "ci", {}).workflow_version == 2


def test_given_params_win_over_defaults_and_the_trigger_is_kept(
    service: RunService, store: SqliteStore
) -> None:
    save(store, params=[{"name": "branch", "default": "main"}])
    run = service.start("demo", "ci", {"branch": "dev"}, {"type": "schedule", "tick": 3})
    assert run.params == {"branch": "dev"} and run.trigger == {"type": "schedule", "tick": 3}


def test_missing_and_unknown_params_are_listed_in_one_error_and_nothing_starts(
    service: RunService, store: SqliteStore, dispatcher: RecordingDispatcher
) -> None:
    save(store, params=[{"name": "repo", "required": True}, {"name": "ref", "default": "main"}])
    with pytest.raises(InvalidDefinition) as caught:
        service.start("demo", "ci", {"colour": "red"})
    assert {p.path for p in caught.value.problems} == {"params.colour", "params.repo"}
    assert store.list_runs().runs == [] and dispatcher.submitted == []


def test_a_disabled_workflow_starts_nothing(
    service: RunService, store: SqliteStore, dispatcher: RecordingDispatcher
) -> None:
    save(store)
    store.set_workflow_enabled("demo", "ci", False)
    with pytest.raises(Conflict, match="workflow demo/ci is disabled"):
        service.start("demo", "ci", {})
    assert store.list_runs().runs == [] and dispatcher.submitted == []


def test_an_unknown_workflow_is_not_found(service: RunService, store: SqliteStore) -> None:
    save(store)
    with pytest.raises(NotFound):
        service.start("demo", "nope", {})
    with pytest.raises(NotFound):
        service.start("other", "ci", {})


def test_run_ids_are_sortable_by_time_and_unique() -> None:
    first, second = new_run_id(EPOCH), new_run_id(EPOCH)
    assert first.startswith("20231114-221320-") and first != second


# --- history ----------------------------------------------------------------------------


def start_several(service: RunService, store: SqliteStore) -> list[str]:
    """Five runs, a second apart: ci, ci, deploy, ci (failed), other namespace."""
    save(store, "ci")
    save(store, "deploy")
    save(store, "ci", namespace="team")
    ids = [service.start("demo", "ci", {}).id, service.start("demo", "ci", {}).id,
           service.start("demo", "deploy", {}).id, service.start("demo", "ci", {}).id,
           service.start("team", "ci", {}).id]
    finish(store, ids[3], RunState.FAILED)
    return ids


def ids_of(service: RunService, **query: Any) -> list[str]:
    return [run.id for run in service.list_runs("demo", RunQuery(**query)).runs]


def test_history_is_newest_first_within_the_namespace(service: RunService, store: SqliteStore) -> None:
    ids = start_several(service, store)
    assert ids_of(service) == [ids[3], ids[2], ids[1], ids[0]]


def test_history_filters_by_workflow_status_and_time(service: RunService, store: SqliteStore) -> None:
    ids = start_several(service, store)
    assert ids_of(service, workflow="deploy") == [ids[2]]
    assert ids_of(service, statuses=["failed"]) == [ids[3]]
    assert ids_of(service, statuses=["failed", "queued"]) == [ids[3], ids[2], ids[1], ids[0]]
    assert ids_of(service, statuses=["failed,succeeded"]) == [ids[3]]
    created = [store.get_run(i).created_at for i in ids]
    assert ids_of(service, created_after=str(created[1]), created_before=str(created[3])) == [
        ids[2], ids[1]]


def test_history_accepts_iso_times_read_as_utc(service: RunService, store: SqliteStore) -> None:
    ids = start_several(service, store)
    after = "2023-11-14T22:13:22Z"  # EPOCH + 2: the third run on
    assert parse_time("t", after) == parse_time("t", "2023-11-14T22:13:22") == EPOCH + 2
    assert ids_of(service, created_after=after) == [ids[3], ids[2]]


def test_cursor_pages_give_every_run_exactly_once(service: RunService, store: SqliteStore) -> None:
    save(store)
    started = [service.start("demo", "ci", {}).id for _ in range(7)]
    seen: list[str] = []
    cursor = None
    while True:
        page = service.list_runs("demo", RunQuery(limit=3, cursor=cursor))
        seen.extend(run.id for run in page.runs)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == list(reversed(started))


@pytest.mark.parametrize("query", [
    {"cursor": "not-a-cursor"},
    {"statuses": ["finished"]},
    {"created_after": "yesterday"},
    {"created_before": "nan"},
    {"limit": 0},
    {"limit": 501},
])
def test_a_bad_history_query_is_an_invalid_request(
    service: RunService, store: SqliteStore, query: dict[str, Any]
) -> None:
    start_several(service, store)
    with pytest.raises(InvalidRequest):
        service.list_runs("demo", RunQuery(**query))


# --- detail, cancel ---------------------------------------------------------------------


def test_the_detail_of_a_run_lists_its_jobs(service: RunService, store: SqliteStore) -> None:
    save(store)
    run = service.start("demo", "ci", {})
    document = service.detail("demo", run.id)
    assert document["id"] == run.id and document["status"] == "queued"
    assert [j["name"] for j in document["jobs"]] == ["compile", "pack"]


def test_another_namespaces_run_is_not_found(service: RunService, store: SqliteStore) -> None:
    save(store, namespace="team")
    run = service.start("team", "ci", {})
    with pytest.raises(NotFound):
        service.detail("demo", run.id)
    with pytest.raises(NotFound):
        service.cancel("demo", run.id)
    with pytest.raises(NotFound):
        service.rerun_from_failure("demo", run.id)
    assert store.get_run(run.id).cancel_requested is False


def test_cancel_sets_the_flag_and_asks_the_dispatcher_to_stop_the_run(
    service: RunService, store: SqliteStore, dispatcher: RecordingDispatcher
) -> None:
    save(store)
    run = service.start("demo", "ci", {})
    cancelled = service.cancel("demo", run.id)
    assert cancelled.cancel_requested and store.get_run(run.id).cancel_requested
    assert dispatcher.cancelled == [run.id]


def test_a_run_being_cancelled_says_so_in_its_document_until_it_ends(
    service: RunService, store: SqliteStore
) -> None:
    save(store)
    run = service.start("demo", "ci", {})
    assert service.detail("demo", run.id)["cancel_requested"] is False

    service.cancel("demo", run.id)

    document = service.detail("demo", run.id)
    assert (document["status"], document["cancel_requested"]) == ("queued", True)
    [listed] = service.list_runs("demo", RunQuery()).runs
    assert run_summary(listed)["cancel_requested"] is True  # the history's entry too


def test_cancelling_a_finished_run_changes_nothing_it_shows(
    service: RunService, store: SqliteStore, dispatcher: RecordingDispatcher
) -> None:
    save(store)
    run = service.start("demo", "ci", {})
    finish(store, run.id, RunState.SUCCEEDED)
    assert service.cancel("demo", run.id).status is RunState.SUCCEEDED
    assert dispatcher.cancelled == []


# --- re-run from failure ----------------------------------------------------------------


@pytest.mark.parametrize("status", [RunState.SUCCEEDED, RunState.RUNNING, RunState.QUEUED])
def test_only_a_failed_or_cancelled_run_can_be_re_run(
    service: RunService, store: SqliteStore, dispatcher: RecordingDispatcher, status: RunState
) -> None:
    save(store)
    run = service.start("demo", "ci", {})
    finish(store, run.id, status)
    with pytest.raises(Conflict, match=f"run {run.id} is {status}"):
        service.rerun_from_failure("demo", run.id)
    assert dispatcher.submitted == [run.id]


@pytest.mark.parametrize("status", [RunState.FAILED, RunState.CANCELLED])
def test_a_re_run_pins_the_same_version_params_and_trigger_and_points_back(
    service: RunService, store: SqliteStore, dispatcher: RecordingDispatcher, status: RunState
) -> None:
    save(store, params=[{"name": "branch", "default": "main"}])
    first = service.start("demo", "ci", {"branch": "dev"}, {"type": "webhook", "ref": "x"})
    finish(store, first.id, status)
    save(store, params=[{"name": "other", "required": True}])  # version 2 must not matter
    again = service.rerun_from_failure("demo", first.id)
    assert again.rerun_of == first.id and again.workflow_version == 1
    assert again.params == {"branch": "dev"} and again.trigger == {"type": "webhook", "ref": "x"}
    assert again.status is RunState.QUEUED and dispatcher.submitted == [first.id, again.id]


def test_a_disabled_workflow_is_not_re_run(service: RunService, store: SqliteStore) -> None:
    save(store)
    run = service.start("demo", "ci", {})
    finish(store, run.id, RunState.FAILED)
    store.set_workflow_enabled("demo", "ci", False)
    with pytest.raises(Conflict, match="disabled"):
        service.rerun_from_failure("demo", run.id)


# --- re-run scopes ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED])
@pytest.mark.parametrize("scope", [EVERY_JOB, RerunScope(RerunKind.JOBS, ("pack",))],
                         ids=["all", "jobs"])
def test_any_finished_run_can_be_re_run_in_full_or_in_part(
    service: RunService, store: SqliteStore, dispatcher: RecordingDispatcher,
    status: RunState, scope: RerunScope,
) -> None:
    save(store)
    first = service.start("demo", "ci", {})
    finish(store, first.id, status)
    again = service.rerun("demo", first.id, scope)
    assert (again.rerun_of, again.rerun_scope) == (first.id, scope)
    assert store.get_run(again.id).rerun_scope == scope
    assert dispatcher.submitted == [first.id, again.id]


@pytest.mark.parametrize("status", [RunState.QUEUED, RunState.RUNNING])
@pytest.mark.parametrize("scope", [EVERY_JOB, RerunScope(RerunKind.JOBS, ("pack",))],
                         ids=["all", "jobs"])
def test_a_run_that_has_not_ended_cannot_be_re_run_in_any_scope(
    service: RunService, store: SqliteStore, dispatcher: RecordingDispatcher,
    status: RunState, scope: RerunScope,
) -> None:
    save(store)
    run = service.start("demo", "ci", {})
    finish(store, run.id, status)
    with pytest.raises(Conflict, match=f"run {run.id} is {status}; only a finished run"):
        service.rerun("demo", run.id, scope)
    assert dispatcher.submitted == [run.id]


def test_a_succeeded_run_is_not_re_run_from_failure_and_is_told_what_it_can_do(
    service: RunService, store: SqliteStore
) -> None:
    save(store)
    run = service.start("demo", "ci", {})
    finish(store, run.id, RunState.SUCCEEDED)
    with pytest.raises(Conflict, match="re-run all its jobs, or some of them"):
        service.rerun("demo", run.id, FROM_FAILURE)


def test_re_running_a_job_the_pinned_version_does_not_have_is_invalid_and_names_it(
    service: RunService, store: SqliteStore, dispatcher: RecordingDispatcher
) -> None:
    save(store)
    run = service.start("demo", "ci", {})
    finish(store, run.id, RunState.SUCCEEDED)
    with pytest.raises(InvalidRequest, match="no job 'deploy' to re-run") as raised:
        service.rerun("demo", run.id, RerunScope(RerunKind.JOBS, ("pack", "deploy")))
    assert "its jobs: compile, pack" in str(raised.value)
    assert dispatcher.submitted == [run.id]


def test_the_jobs_to_re_run_are_kept_once_each_in_the_definitions_order(
    service: RunService, store: SqliteStore
) -> None:
    save(store)
    run = service.start("demo", "ci", {})
    finish(store, run.id, RunState.SUCCEEDED)
    again = service.rerun("demo", run.id, RerunScope(RerunKind.JOBS, ("pack", "compile", "pack")))
    assert again.rerun_scope == RerunScope(RerunKind.JOBS, ("compile", "pack"))


def test_a_re_runs_summary_and_document_say_its_scope_and_a_new_runs_say_null(
    service: RunService, store: SqliteStore
) -> None:
    save(store)
    first = service.start("demo", "ci", {})
    finish(store, first.id, RunState.FAILED)
    again = service.rerun("demo", first.id, RerunScope(RerunKind.JOBS, ("pack",)))
    assert run_summary(first)["rerun_scope"] is None
    assert run_summary(again)["rerun_scope"] == {"scope": "jobs", "jobs": ["pack"]}
    assert service.detail("demo", again.id)["rerun_scope"] == {"scope": "jobs", "jobs": ["pack"]}
    from_failure = service.rerun("demo", first.id)
    assert service.detail("demo", from_failure.id)["rerun_scope"] == {"scope": "failed"}


def test_a_re_run_stored_before_scopes_were_kept_says_it_was_from_failure(
    service: RunService, store: SqliteStore
) -> None:
    save(store)
    first = service.start("demo", "ci", {})
    finish(store, first.id, RunState.FAILED)
    again = service.rerun("demo", first.id)
    store.save_run(replace(store.get_run(again.id), rerun_scope=None))
    assert service.detail("demo", again.id)["rerun_scope"] == {"scope": "failed"}


@pytest.mark.parametrize(("body", "scope"), [
    ({}, FROM_FAILURE),
    ({"scope": "failed"}, FROM_FAILURE),
    ({"scope": "all"}, EVERY_JOB),
    ({"scope": "jobs", "jobs": ["build", "test", "build"]}, RerunScope(RerunKind.JOBS, ("build", "test"))),
])
def test_a_re_run_request_reads_as_its_scope(body: dict[str, Any], scope: RerunScope) -> None:
    assert rerun_scope_from_request(body) == scope


@pytest.mark.parametrize(("body", "says"), [
    ({"scope": "jobs", "jobs": []}, "'jobs' is empty"),
    ({"scope": "jobs"}, "'jobs' must be a list"),
    ({"scope": "jobs", "jobs": "build"}, "'jobs' must be a list"),
    ({"scope": "jobs", "jobs": [1]}, "'jobs' must be a list"),
    ({"scope": "some"}, "'scope' must be one of failed, all, jobs"),
    ({"scope": ["all"]}, "'scope' must be one of"),
    ({"scope": "all", "jobs": ["build"]}, "'jobs' goes with \"scope\": \"jobs\" only"),
    ({"scope": "all", "force": True}, "unknown field\\(s\\) in the body: force"),
])
def test_a_bad_re_run_request_is_invalid_and_says_why(body: dict[str, Any], says: str) -> None:
    with pytest.raises(InvalidRequest, match=says):
        rerun_scope_from_request(body)


def test_the_recorder_creates_a_run_of_a_given_version_without_submitting_it(store: SqliteStore) -> None:
    save(store)
    save(store, env={"X": "2"})
    recorder = RunRecorder(store, clock=Clock(), new_id=counting_ids())
    run = recorder.record(recorder.plan("demo", "ci", {}, version=1))
    assert run.workflow_version == 1 and store.get_run(run.id).status is RunState.QUEUED


# --- the start request ------------------------------------------------------------------


def test_start_request_params_are_text() -> None:
    assert params_from_request({"params": {"n": 3, "on": True, "s": "x", "none": None}}) == {
        "n": "3", "on": "true", "s": "x", "none": ""}
    assert params_from_request({}) == {}


@pytest.mark.parametrize("body", [
    {"param": {"a": "b"}},
    {"params": ["a"]},
    {"params": {"a": {"b": "c"}}},
])
def test_a_malformed_start_request_is_invalid(body: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest):
        params_from_request(body)

