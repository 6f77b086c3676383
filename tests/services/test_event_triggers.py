"""EventTriggers on a real SQLite file with a recording dispatcher: which runs an S3 object or
a CodeCommit push starts, at most one per workflow however often the event is delivered."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.models import Workflow
from chalicelib.domain.triggers import ObjectCreated, ReferenceChanged, ReferenceEvent
from chalicelib.services.dispatch import RecordingDispatcher
from chalicelib.services.event_triggers import EventTriggers
from chalicelib.services.run_service import RunService
from chalicelib.store.sqlite import SqliteStore
from tests.builders import single_job_doc
from tests.store.contract import at_once

UPLOADS = {"type": "s3", "bucket": "uploads", "prefix": "builds/"}
MAIN = {"type": "codecommit", "repository": "app", "branches": ["main", "release/*"]}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "store.db") as store:
        yield store


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    return RecordingDispatcher()


@pytest.fixture
def triggers(store: SqliteStore, dispatcher: RecordingDispatcher) -> EventTriggers:
    return EventTriggers(store, RunService(store, dispatcher), clock=lambda: 1_700_000_000.0)


def save(store: SqliteStore, name: str, *triggers: dict[str, Any], **spec: Any) -> None:
    document = single_job_doc(spec__triggers=list(triggers), **{f"spec__{k}": v for k, v in spec.items()})
    document["metadata"]["name"] = name
    store.save_workflow(Workflow.model_validate(document))


def created(key: str = "builds/app.zip", event_id: str = "e-1") -> ObjectCreated:
    return ObjectCreated(event_id=event_id, bucket="uploads", key=key, size=5, etag="b1946ac9")


def pushed(branch: str = "main", event: ReferenceEvent = ReferenceEvent.UPDATED, *,
           kind: str = "branch", event_id: str = "e-2") -> ReferenceChanged:
    return ReferenceChanged(event_id=event_id, repository="app", event=event, reference_type=kind,
                            name=branch, commit="" if event is ReferenceEvent.DELETED else "5e3c1f0")


def runs_of(store: SqliteStore) -> list[tuple[str, dict[str, Any]]]:
    return sorted((run.workflow, run.trigger) for run in store.list_runs().runs)


# --- S3 ---------------------------------------------------------------------------------

def test_an_object_created_under_a_watched_prefix_starts_a_run_that_sees_the_object(
    triggers: EventTriggers, store: SqliteStore, dispatcher: RecordingDispatcher
) -> None:
    save(store, "build", UPLOADS)
    [run] = triggers.object_created(created("builds/my app+c%.zip"))
    assert (run.workflow, run.trigger) == ("build", {
        "type": "s3", "bucket": "uploads", "key": "builds/my app+c%.zip", "size": 5,
        "etag": "b1946ac9"})
    assert dispatcher.submitted == [run.id]


def test_an_event_delivered_twice_starts_one_run(
    triggers: EventTriggers, store: SqliteStore, dispatcher: RecordingDispatcher
) -> None:
    save(store, "build", UPLOADS)
    assert len(triggers.object_created(created())) == 1
    assert triggers.object_created(created()) == []
    assert len(dispatcher.submitted) == 1 and len(store.list_runs().runs) == 1
    assert len(triggers.object_created(created(event_id="e-other"))) == 1  # another event


def test_two_deliveries_of_one_event_handled_at_once_start_one_run(
    triggers: EventTriggers, store: SqliteStore
) -> None:
    save(store, "build", UPLOADS)
    results = at_once(4, lambda i: triggers.object_created(created()))
    assert sorted(len(r) for r in results if isinstance(r, list)) == [0, 0, 0, 1]
    assert len(store.list_runs().runs) == 1


def test_one_event_starts_one_run_of_each_matching_workflow_only(
    triggers: EventTriggers, store: SqliteStore
) -> None:
    save(store, "build", UPLOADS, {**UPLOADS, "suffix": ".zip"})  # two triggers match: one run
    save(store, "zips", {"type": "s3", "bucket": "uploads", "suffix": ".zip"})
    save(store, "tars", {"type": "s3", "bucket": "uploads", "suffix": ".tar"})
    save(store, "elsewhere", {"type": "s3", "bucket": "releases"})
    triggers.object_created(created())
    assert [name for name, _ in runs_of(store)] == ["build", "zips"]


def test_a_disabled_workflow_starts_nothing_and_the_others_still_start(
    triggers: EventTriggers, store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    save(store, "off", UPLOADS)
    save(store, "on", UPLOADS)
    store.set_workflow_enabled("demo", "off", False)
    with caplog.at_level(logging.INFO, logger="containerops.triggers"):
        triggers.object_created(created())
    assert [name for name, _ in runs_of(store)] == ["on"]
    assert "starts no run of demo/off: the workflow is disabled" in caplog.text
    store.set_workflow_enabled("demo", "off", True)  # nothing was claimed for it
    assert [r.workflow for r in triggers.object_created(created())] == ["off"]


def test_a_run_that_cannot_start_is_logged_not_raised_and_the_others_still_start(
    triggers: EventTriggers, store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    save(store, "needs-input", UPLOADS, params=[{"name": "target", "required": True}])
    save(store, "fine", UPLOADS)
    with caplog.at_level(logging.WARNING, logger="containerops.triggers"):
        started = triggers.object_created(created())
    assert [run.workflow for run in started] == ["fine"]
    assert ("s3 event e-1 started no run of demo/needs-input: params.target: param 'target' is"
            " required") in caplog.text


def test_a_deleted_workflow_starts_nothing(triggers: EventTriggers, store: SqliteStore) -> None:
    save(store, "build", UPLOADS)
    store.delete_workflow("demo", "build")
    assert triggers.object_created(created()) == []


# --- CodeCommit -------------------------------------------------------------------------

def test_a_push_to_a_watched_branch_starts_a_run_that_sees_the_push(
    triggers: EventTriggers, store: SqliteStore
) -> None:
    save(store, "ci", MAIN)
    [run] = triggers.reference_changed(pushed("release/1.2", ReferenceEvent.CREATED))
    assert run.trigger == {"type": "codecommit", "repository": "app", "branch": "release/1.2",
                           "commit": "5e3c1f0", "event": "referenceCreated"}
    assert triggers.reference_changed(pushed("feature/x", event_id="e-3")) == []


def test_a_push_delivered_twice_starts_one_run(triggers: EventTriggers, store: SqliteStore) -> None:
    save(store, "ci", MAIN)
    assert len(triggers.reference_changed(pushed())) == 1
    assert triggers.reference_changed(pushed()) == []
    assert len(store.list_runs().runs) == 1


def test_a_deleted_branch_starts_nothing_and_claims_nothing(
    triggers: EventTriggers, store: SqliteStore, dispatcher: RecordingDispatcher
) -> None:
    save(store, "ci", {"type": "codecommit", "repository": "app"})
    assert triggers.reference_changed(pushed("main", ReferenceEvent.DELETED)) == []
    assert dispatcher.submitted == [] and store.list_runs().runs == []


def test_a_pushed_tag_starts_nothing(triggers: EventTriggers, store: SqliteStore) -> None:
    save(store, "ci", {"type": "codecommit", "repository": "app", "branches": ["**"]})
    assert triggers.reference_changed(pushed("v1.0", ReferenceEvent.CREATED, kind="tag")) == []
    assert store.list_runs().runs == []


def test_a_trigger_for_branch_creation_only_ignores_pushes(
    triggers: EventTriggers, store: SqliteStore
) -> None:
    save(store, "ci", {**MAIN, "events": ["referenceCreated"]})
    assert triggers.reference_changed(pushed("main")) == []
    assert len(triggers.reference_changed(pushed("main", ReferenceEvent.CREATED, event_id="e-9"))) == 1
