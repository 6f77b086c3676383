"""The behaviour every Store keeps, written once and run against each implementation.

A test module subclasses `StoreContract` and provides the `store` fixture (an empty store,
closed after the test). Everything here goes through the `Store` interface only, so the
SQLite store and the DynamoDB store are held to the same sentences. (Log lines have a
contract of their own: tests/logs/contract.py.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TypeVar

import pytest

from chalicelib.domain.models import Component, ScheduleTrigger, Workflow
from chalicelib.domain.states import AttemptState, JobState, RunState
from chalicelib.domain.triggers import TriggerKind, schedule_key, schedules_of
from chalicelib.engine.records import AttemptRecord, JobRecord, RerunKind, RerunScope, RunRecord
from chalicelib.errors import Conflict, NotFound, StaleWrite
from chalicelib.store.base import EVENT_CLAIM_RETENTION_SECONDS, RunFilter, Store, WorkflowSettings

T = TypeVar("T")
EPOCH = 1_700_000_000.0
# ECS task ARNs as aws mode stores them in container_id; a log stream carries the id only.
CLUSTER_TASKS = "arn:aws:ecs:us-east-1:123456789012:task/containerops"
TASK_ID = "0123abcd4567ef890123abcd4567ef89"
OTHER_TASK_ID = "fedcba9876543210fedcba9876543210"
THIRD_TASK_ID = "00000000111111112222222233333333"
TASK_ARN = f"{CLUSTER_TASKS}/{TASK_ID}"


def component(name: str = "lint", version: str = "1.0.0", *, namespace: str = "demo",
              image: str = "demo/lint:1") -> Component:
    return Component.model_validate({
        "metadata": {"namespace": namespace, "name": name, "version": version},
        "spec": {"image": image, "inputs": [{"name": "git-url", "required": True}],
                 "outputs": [{"name": "REPORT"}]},
    })


def workflow(name: str = "ci", *, namespace: str = "demo", image: str = "busybox:1") -> Workflow:
    return Workflow.model_validate({
        "metadata": {"namespace": namespace, "name": name},
        "spec": {
            "params": [{"name": "branch", "default": "main"}],
            "stages": [{"name": "test", "actions": [{"name": "unit", "jobs": [
                {"name": "detect", "image": image, "outputs": ["CHANGED"]},
                {"name": "go-test", "component": "demo/lint@1.0.0",
                 "if": "${{ jobs.detect.outputs.CHANGED == 'true' }}",
                 "retries": {"limit": 2, "backoff": "5s"}, "timeout": "30m"},
            ]}]}],
        },
    })


def triggered(name: str, *triggers: dict[str, object], namespace: str = "demo") -> Workflow:
    """A one-job workflow with these triggers."""
    return Workflow.model_validate({
        "metadata": {"namespace": namespace, "name": name},
        "spec": {"triggers": list(triggers), "stages": [{"name": "s", "actions": [
            {"name": "a", "jobs": [{"name": "j", "image": "busybox:1"}]}]}]},
    })


S3 = {"type": "s3", "bucket": "uploads"}
REPO = {"type": "codecommit", "repository": "app", "branches": ["main"]}
NIGHTLY = {"type": "schedule", "cron": "0 3 * * *"}
# Schedule keys (domain.triggers.schedule_key) as the schedule checker passes them.
AT_3 = schedule_key(ScheduleTrigger(type="schedule", cron="0 3 * * *"))
AT_15 = schedule_key(ScheduleTrigger(type="schedule", cron="0 15 * * *"))


def run(run_id: str = "r1", *, created_at: float = EPOCH, status: RunState = RunState.QUEUED,
        namespace: str = "demo", workflow_name: str = "ci") -> RunRecord:
    return RunRecord(id=run_id, namespace=namespace, workflow=workflow_name, workflow_version=1,
                     status=status, created_at=created_at, params={"branch": "main"},
                     trigger={"type": "api", "user": "ana"})


def job(name: str, stage: int = 0, action: int = 0, position: int = 0,
        run_id: str = "r1") -> JobRecord:
    return JobRecord(run_id=run_id, name=name, stage=stage, action=action, position=position)


def at_once(count: int, action: Callable[[int], T]) -> list[T | Exception]:
    """Run `action(i)` on `count` threads released together; each result or error."""
    barrier = threading.Barrier(count)
    results: list[T | Exception] = [RuntimeError("did not finish")] * count

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = action(i)
        except Exception as exc:  # collected for the test to inspect
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


class StoreContract:
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        raise NotImplementedError("a subclass provides the store under test")

    @pytest.fixture
    def started(self, store: Store) -> Store:
        """A store holding run r1 with job `build` and its attempt 1."""
        store.create_run(run("r1"), [job("build")])
        store.create_attempt(AttemptRecord(run_id="r1", job="build", number=1))
        return store

    # --- components ----------------------------------------------------------------
    def test_a_published_component_reads_back_unchanged(self, store: Store) -> None:
        store.put_component(component())
        assert store.get_component("demo", "lint", "1.0.0") == component()

    def test_republishing_an_identical_component_is_a_no_op(self, store: Store) -> None:
        store.put_component(component())
        store.put_component(component())
        assert store.list_components() == [component()]

    def test_republishing_a_changed_component_version_conflicts(self, store: Store) -> None:
        store.put_component(component(image="demo/lint:1"))
        with pytest.raises(Conflict, match="immutable"):
            store.put_component(component(image="demo/lint:2"))
        assert store.get_component("demo", "lint", "1.0.0").spec.image == "demo/lint:1"

    def test_an_unknown_component_is_not_found(self, store: Store) -> None:
        store.put_component(component(version="1.0.0"))
        with pytest.raises(NotFound, match=r"demo/lint@2\.0\.0"):
            store.get_component("demo", "lint", "2.0.0")

    def test_components_are_listed_by_namespace_name_and_version(self, store: Store) -> None:
        for c in [component("lint", "1.10.0"), component("build", "2.0.0"),
                  component("lint", "1.2.0"), component("lint", "1.0.0", namespace="acme")]:
            store.put_component(c)
        assert [c.ref for c in store.list_components()] == [
            "acme/lint@1.0.0", "demo/build@2.0.0", "demo/lint@1.2.0", "demo/lint@1.10.0"]
        assert [c.ref for c in store.list_components("demo", "lint")] == [
            "demo/lint@1.2.0", "demo/lint@1.10.0"]
        assert [c.ref for c in store.list_components("acme")] == ["acme/lint@1.0.0"]

    def test_a_published_component_is_not_deprecated(self, store: Store) -> None:
        store.put_component(component())
        entry = store.get_component_entry("demo", "lint", "1.0.0")
        assert (entry.component, entry.deprecated) == (component(), False)
        assert isinstance(entry.created_at, float)

    def test_deprecating_a_version_hides_it_from_the_palette_list_but_keeps_it_readable(
        self, store: Store
    ) -> None:
        for version in ["1.0.0", "1.1.0"]:
            store.put_component(component(version=version))
        deprecated = store.set_component_deprecated("demo", "lint", "1.0.0", True)
        assert (deprecated.component, deprecated.deprecated) == (component(), True)
        palette = store.list_component_entries(include_deprecated=False)
        assert [e.component.ref for e in palette] == ["demo/lint@1.1.0"]
        everything = store.list_component_entries()
        assert [(e.component.ref, e.deprecated) for e in everything] == [
            ("demo/lint@1.0.0", True), ("demo/lint@1.1.0", False)]
        # a workflow pinned to it still runs it
        assert store.get_component("demo", "lint", "1.0.0") == component()
        assert store.get_component_entry("demo", "lint", "1.0.0").deprecated
        assert [c.ref for c in store.list_components()] == ["demo/lint@1.0.0", "demo/lint@1.1.0"]

    def test_undeprecating_a_version_puts_it_back_in_the_palette(self, store: Store) -> None:
        store.put_component(component())
        store.set_component_deprecated("demo", "lint", "1.0.0", True)
        assert not store.set_component_deprecated("demo", "lint", "1.0.0", False).deprecated
        assert [e.component.ref for e in store.list_component_entries(
            include_deprecated=False)] == ["demo/lint@1.0.0"]

    def test_republishing_a_deprecated_version_keeps_it_deprecated(self, store: Store) -> None:
        store.put_component(component())
        store.set_component_deprecated("demo", "lint", "1.0.0", True)
        store.put_component(component())
        assert store.get_component_entry("demo", "lint", "1.0.0").deprecated

    def test_component_entries_are_listed_by_version_number(self, store: Store) -> None:
        versions = ["1.10.0", "1.0.0", "1.2.0", "1.0.0-rc1", "0.9"]
        for version in versions:
            store.put_component(component(version=version))
        store.put_component(component("build", "2.0.0"))
        store.put_component(component("lint", "3.0.0", namespace="acme"))
        expected = ["acme/lint@3.0.0", "demo/build@2.0.0", "demo/lint@0.9", "demo/lint@1.0.0-rc1",
                    "demo/lint@1.0.0", "demo/lint@1.2.0", "demo/lint@1.10.0"]
        assert [e.component.ref for e in store.list_component_entries()] == expected
        assert [c.ref for c in store.list_components()] == expected
        assert [e.component.ref for e in store.list_component_entries("demo", "lint")] == (
            expected[2:])
        assert [e.component.ref for e in store.list_component_entries("acme")] == expected[:1]

    def test_listing_entries_that_match_nothing_is_empty(self, store: Store) -> None:
        store.put_component(component())
        assert store.list_component_entries("demo", "nope") == []
        store.set_component_deprecated("demo", "lint", "1.0.0", True)
        assert store.list_component_entries("demo", "lint", include_deprecated=False) == []

    def test_an_unknown_component_version_cannot_be_read_or_deprecated(
        self, store: Store
    ) -> None:
        store.put_component(component(version="1.0.0"))
        with pytest.raises(NotFound, match=r"demo/lint@2\.0\.0"):
            store.get_component_entry("demo", "lint", "2.0.0")
        with pytest.raises(NotFound, match=r"demo/lint@2\.0\.0"):
            store.set_component_deprecated("demo", "lint", "2.0.0", True)
        with pytest.raises(NotFound, match=r"demo/nope@1\.0\.0"):
            store.set_component_deprecated("demo", "nope", "1.0.0", True)

    # --- namespaces ----------------------------------------------------------------
    def test_an_empty_store_has_no_namespaces(self, store: Store) -> None:
        assert store.list_namespaces() == []

    def test_every_namespace_holding_a_component_or_workflow_is_listed_once_in_order(
        self, store: Store
    ) -> None:
        store.put_component(component(namespace="tools"))
        store.put_component(component(version="2.0.0", namespace="tools"))
        store.put_component(component(namespace="demo"))
        store.save_workflow(workflow(namespace="demo"))
        store.save_workflow(workflow("deploy", namespace="acme"))
        store.save_workflow(workflow(namespace="acme"))
        assert store.list_namespaces() == ["acme", "demo", "tools"]

    def test_a_namespace_whose_only_workflow_is_deleted_is_not_listed(self, store: Store) -> None:
        store.save_workflow(workflow(namespace="gone"))
        store.save_workflow(workflow(namespace="demo"))
        store.save_workflow(workflow("deploy", namespace="demo"))
        store.delete_workflow("gone", "ci")
        store.delete_workflow("demo", "ci")
        assert store.list_namespaces() == ["demo"]

    def test_a_namespace_with_a_deleted_workflow_and_a_component_is_still_listed(
        self, store: Store
    ) -> None:
        store.save_workflow(workflow(namespace="demo"))
        store.put_component(component(namespace="demo"))
        store.delete_workflow("demo", "ci")
        assert store.list_namespaces() == ["demo"]

    def test_a_deprecated_component_still_keeps_its_namespace_listed(self, store: Store) -> None:
        store.put_component(component(namespace="old"))
        store.set_component_deprecated("old", "lint", "1.0.0", True)
        assert store.list_namespaces() == ["old"]

    def test_the_namespaces_of_components_leave_out_those_with_workflows_only(
        self, store: Store
    ) -> None:
        assert store.component_namespaces() == []
        store.put_component(component(namespace="tools"))
        store.put_component(component(version="2.0.0", namespace="tools"))
        store.put_component(component(namespace="demo"))
        store.set_component_deprecated("demo", "lint", "1.0.0", True)
        store.save_workflow(workflow(namespace="acme"))
        store.save_workflow(workflow(namespace="demo"))
        assert store.component_namespaces() == ["demo", "tools"]
        assert store.list_namespaces() == ["acme", "demo", "tools"]

    def test_a_revived_workflow_lists_its_namespace_again(self, store: Store) -> None:
        store.save_workflow(workflow(namespace="demo"))
        store.delete_workflow("demo", "ci")
        store.save_workflow(workflow(namespace="demo"), expected_version=0)
        assert store.list_namespaces() == ["demo"]

    # --- workflows -----------------------------------------------------------------
    def test_saving_a_workflow_creates_the_next_version(self, store: Store) -> None:
        assert store.save_workflow(workflow(image="busybox:1"), expected_version=0) == 1
        assert store.save_workflow(workflow(image="busybox:2"), expected_version=1) == 2
        latest = store.get_workflow("demo", "ci")
        assert (latest.version, latest.workflow) == (2, workflow(image="busybox:2"))
        assert store.get_workflow("demo", "ci", 1).workflow == workflow(image="busybox:1")

    def test_a_saved_workflow_keeps_every_field(self, store: Store) -> None:
        store.save_workflow(workflow())
        stored = store.get_workflow("demo", "ci").workflow
        assert stored == workflow()
        go_test = stored.job_named("go-test")
        assert go_test is not None and go_test.if_ == "${{ jobs.detect.outputs.CHANGED == 'true' }}"

    def test_a_saved_workflow_keeps_its_keys_in_the_order_written(self, store: Store) -> None:
        # A matrix's axes number its instances: `zone` before `arch` must stay so.
        document = workflow().dump()
        job = document["spec"]["stages"][0]["actions"][0]["jobs"][0]
        job["matrix"] = {"zone": ["b", "a"], "arch": ["x86", "arm"]}
        job["data"] = {"second": "2", "first": "1"}
        store.save_workflow(Workflow.model_validate(document))
        stored = store.get_workflow("demo", "ci").workflow.dump()
        stored_job = stored["spec"]["stages"][0]["actions"][0]["jobs"][0]
        assert list(stored_job["matrix"]) == ["zone", "arch"]
        assert list(stored_job["data"]) == ["second", "first"]

    def test_saving_from_a_stale_version_conflicts(self, store: Store) -> None:
        store.save_workflow(workflow(), expected_version=0)
        store.save_workflow(workflow(image="busybox:2"), expected_version=1)
        with pytest.raises(Conflict, match=r"(?s)version 1.*version 2"):
            store.save_workflow(workflow(image="busybox:3"), expected_version=1)
        assert store.get_workflow("demo", "ci").version == 2

    def test_saving_as_new_when_the_workflow_exists_conflicts(self, store: Store) -> None:
        store.save_workflow(workflow())
        with pytest.raises(Conflict, match="version 1"):
            store.save_workflow(workflow(), expected_version=0)

    def test_saving_without_an_expected_version_skips_the_check(self, store: Store) -> None:
        assert [store.save_workflow(workflow()) for _ in range(3)] == [1, 2, 3]

    def test_an_unknown_workflow_or_version_is_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound, match="demo/ci"):
            store.get_workflow("demo", "ci")
        store.save_workflow(workflow())
        with pytest.raises(NotFound, match="demo/ci version 3"):
            store.get_workflow("demo", "ci", 3)

    def test_listing_workflows_gives_the_latest_version_of_each(self, store: Store) -> None:
        store.save_workflow(workflow("ci"))
        store.save_workflow(workflow("ci", image="busybox:2"))
        store.save_workflow(workflow("deploy"))
        store.save_workflow(workflow("ci", namespace="acme"))
        listed = [(s.workflow.ref, s.version) for s in store.list_workflows()]
        assert listed == [("acme/ci", 1), ("demo/ci", 2), ("demo/deploy", 1)]
        assert store.list_workflows("demo")[0].workflow == workflow("ci", image="busybox:2")
        assert [s.workflow.ref for s in store.list_workflows("acme")] == ["acme/ci"]

    def test_two_concurrent_saves_one_wins_and_no_version_is_lost(self, store: Store) -> None:
        store.save_workflow(workflow())
        results = at_once(2, lambda i: store.save_workflow(
            workflow(image=f"busybox:{i + 2}"), expected_version=1))
        assert [r for r in results if isinstance(r, int)] == [2]
        assert len([r for r in results if isinstance(r, Conflict)]) == 1
        assert store.get_workflow("demo", "ci").version == 2

    def test_concurrent_unchecked_saves_get_contiguous_versions(self, store: Store) -> None:
        results = at_once(8, lambda i: [store.save_workflow(workflow()) for _ in range(5)])
        versions = sorted(v for r in results if isinstance(r, list) for v in r)
        assert versions == list(range(1, 41))

    # --- the list of versions -------------------------------------------------------
    def test_the_versions_of_a_workflow_are_listed_newest_first_with_when_each_was_saved(
        self, store: Store
    ) -> None:
        for image in ("busybox:1", "busybox:2", "busybox:3"):
            store.save_workflow(workflow(image=image))
        store.save_workflow(workflow("deploy"))
        store.save_workflow(workflow(namespace="acme"))
        listed = store.list_workflow_versions("demo", "ci")
        assert [v.version for v in listed] == [3, 2, 1]
        assert [v.created_at for v in listed] == [
            store.get_workflow("demo", "ci", v.version).created_at for v in listed]
        assert [v.version for v in store.list_workflow_versions("demo", "deploy")] == [1]

    def test_the_versions_list_leaves_out_the_marks_and_slots_kept_beside_them(
        self, store: Store
    ) -> None:
        store.save_workflow(workflow())
        store.save_workflow(workflow(image="busybox:2"))
        store.set_schedule_mark("demo", "ci", "0 * * * *", EPOCH)
        assert store.take_run_slot("demo", "ci", "r1", 1)
        assert [v.version for v in store.list_workflow_versions("demo", "ci")] == [2, 1]

    def test_the_versions_of_an_unknown_or_deleted_workflow_are_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound, match="demo/ci"):
            store.list_workflow_versions("demo", "ci")
        store.save_workflow(workflow())
        store.delete_workflow("demo", "ci")
        with pytest.raises(NotFound, match="demo/ci"):
            store.list_workflow_versions("demo", "ci")

    def test_a_revived_workflow_lists_every_version_it_ever_had(self, store: Store) -> None:
        store.save_workflow(workflow())
        store.save_workflow(workflow(image="busybox:2"))
        store.delete_workflow("demo", "ci")
        store.save_workflow(workflow(image="busybox:3"), expected_version=0)
        assert [v.version for v in store.list_workflow_versions("demo", "ci")] == [3, 2, 1]

    # --- workflow settings and deletion ---------------------------------------------
    def test_a_new_workflow_is_enabled_with_a_webhook_secret(self, store: Store) -> None:
        store.save_workflow(workflow("ci"))
        store.save_workflow(workflow("deploy"))
        ci = store.get_workflow_settings("demo", "ci")
        assert ci.enabled
        assert len(ci.webhook_secret) >= 32
        assert store.get_workflow_settings("demo", "deploy").webhook_secret != ci.webhook_secret

    def test_new_versions_keep_the_workflow_settings(self, store: Store) -> None:
        store.save_workflow(workflow())
        before = store.set_workflow_enabled("demo", "ci", False)
        store.save_workflow(workflow(image="busybox:2"), expected_version=1)
        assert store.get_workflow_settings("demo", "ci") == before
        assert not before.enabled

    def test_a_workflow_can_be_disabled_and_enabled_again(self, store: Store) -> None:
        store.save_workflow(workflow())
        secret = store.get_workflow_settings("demo", "ci").webhook_secret
        assert store.set_workflow_enabled("demo", "ci", False) == WorkflowSettings(
            enabled=False, webhook_secret=secret)
        assert not store.get_workflow_settings("demo", "ci").enabled
        assert store.set_workflow_enabled("demo", "ci", True).enabled
        assert store.get_workflow_settings("demo", "ci").enabled

    def test_a_deleted_workflow_is_not_found_but_its_versions_stay_readable_by_number(
        self, store: Store
    ) -> None:
        store.save_workflow(workflow(image="busybox:1"))
        store.save_workflow(workflow(image="busybox:2"))
        store.save_workflow(workflow("deploy"))
        store.delete_workflow("demo", "ci")
        with pytest.raises(NotFound, match="demo/ci"):
            store.get_workflow("demo", "ci")
        with pytest.raises(NotFound, match="demo/ci"):
            store.get_workflow_settings("demo", "ci")
        assert [s.workflow.ref for s in store.list_workflows()] == ["demo/deploy"]
        assert store.list_workflows("demo")[0].workflow.ref == "demo/deploy"
        assert store.get_workflow("demo", "ci", 1).workflow == workflow(image="busybox:1")
        assert store.get_workflow("demo", "ci", 2).workflow == workflow(image="busybox:2")

    @pytest.mark.parametrize("expected_version", [0, None])
    def test_saving_a_deleted_workflow_again_revives_it_with_the_next_version(
        self, store: Store, expected_version: int | None
    ) -> None:
        store.save_workflow(workflow(image="busybox:1"))
        store.save_workflow(workflow(image="busybox:2"))
        store.delete_workflow("demo", "ci")
        assert store.save_workflow(workflow(image="busybox:3"), expected_version) == 3
        latest = store.get_workflow("demo", "ci")
        assert (latest.version, latest.workflow) == (3, workflow(image="busybox:3"))
        assert [(s.workflow.ref, s.version) for s in store.list_workflows()] == [("demo/ci", 3)]
        assert store.get_workflow_settings("demo", "ci").enabled
        assert store.get_workflow("demo", "ci", 2).workflow == workflow(image="busybox:2")
        assert store.save_workflow(workflow(image="busybox:4"), expected_version=3) == 4

    @pytest.mark.parametrize("expected_version", [1, 2])
    def test_saving_a_deleted_workflow_from_an_edited_version_conflicts(
        self, store: Store, expected_version: int
    ) -> None:
        store.save_workflow(workflow())
        store.save_workflow(workflow(image="busybox:2"))
        store.delete_workflow("demo", "ci")
        with pytest.raises(Conflict, match="deleted"):
            store.save_workflow(workflow(image="busybox:3"), expected_version)
        with pytest.raises(NotFound):
            store.get_workflow("demo", "ci")
        with pytest.raises(NotFound, match="version 3"):
            store.get_workflow("demo", "ci", 3)

    def test_a_revived_workflow_can_be_deleted_again(self, store: Store) -> None:
        store.save_workflow(workflow())
        store.delete_workflow("demo", "ci")
        store.save_workflow(workflow(), expected_version=0)
        store.delete_workflow("demo", "ci")
        assert store.list_workflows() == []

    def test_deleting_or_switching_an_unknown_workflow_is_not_found(self, store: Store) -> None:
        changes: list[Callable[[], object]] = [
            lambda: store.delete_workflow("demo", "ci"),
            lambda: store.set_workflow_enabled("demo", "ci", False),
            lambda: store.get_workflow_settings("demo", "ci"),
        ]
        for change in changes:
            with pytest.raises(NotFound, match="demo/ci"):
                change()

    def test_deleting_or_switching_a_deleted_workflow_is_not_found(self, store: Store) -> None:
        store.save_workflow(workflow())
        store.delete_workflow("demo", "ci")
        with pytest.raises(NotFound, match="demo/ci"):
            store.delete_workflow("demo", "ci")
        with pytest.raises(NotFound, match="demo/ci"):
            store.set_workflow_enabled("demo", "ci", True)

    def test_no_error_about_a_workflow_shows_its_webhook_secret(self, store: Store) -> None:
        store.save_workflow(workflow())
        secret = store.get_workflow_settings("demo", "ci").webhook_secret
        attempts: list[Callable[[], object]] = [
            lambda: store.save_workflow(workflow(), expected_version=0),
            lambda: store.save_workflow(workflow(), expected_version=7),
            lambda: store.get_workflow("demo", "ci", 9),
            lambda: store.delete_workflow("demo", "ci"),
            lambda: store.delete_workflow("demo", "ci"),
            lambda: store.set_workflow_enabled("demo", "ci", True),
            lambda: store.get_workflow_settings("demo", "ci"),
            lambda: store.save_workflow(workflow(), expected_version=1),
        ]
        errors: list[Exception] = []
        for attempt in attempts:
            try:
                attempt()
            except (Conflict, NotFound) as exc:
                errors.append(exc)
        assert len(errors) == 7
        for error in errors:
            assert secret not in f"{error!s} {error!r}"

    # --- triggers ------------------------------------------------------------------
    def test_an_event_is_claimed_once(self, store: Store) -> None:
        assert store.claim_event("github:delivery-1", EPOCH)
        assert not store.claim_event("github:delivery-1", EPOCH + 1)
        assert store.claim_event("github:delivery-2", EPOCH + 2)

    def test_an_event_claim_holds_for_the_retention_period_and_then_lapses(
        self, store: Store
    ) -> None:
        assert store.claim_event("github:delivery-1", EPOCH)
        assert not store.claim_event("github:delivery-1", EPOCH + EVENT_CLAIM_RETENTION_SECONDS - 1)
        assert store.claim_event("github:delivery-1", EPOCH + EVENT_CLAIM_RETENTION_SECONDS + 1)
        assert not store.claim_event("github:delivery-1", EPOCH + EVENT_CLAIM_RETENTION_SECONDS + 2)

    def test_two_threads_claiming_one_event_only_one_wins(self, store: Store) -> None:
        keys = [f"event-{i}" for i in range(50)]
        results = at_once(2, lambda i: [store.claim_event(key, EPOCH + i) for key in keys])
        claims = [r for r in results if isinstance(r, list)]
        assert len(claims) == 2
        assert [first + second for first, second in zip(*claims, strict=True)] == [1] * 50

    def test_a_schedule_mark_reads_back_what_was_last_set(self, store: Store) -> None:
        assert store.get_schedule_mark("demo", "ci", AT_3) is None
        store.set_schedule_mark("demo", "ci", AT_3, EPOCH)
        assert store.get_schedule_mark("demo", "ci", AT_3) == EPOCH
        store.set_schedule_mark("demo", "ci", AT_3, EPOCH + 60)
        assert store.get_schedule_mark("demo", "ci", AT_3) == EPOCH + 60

    def test_each_schedule_has_its_own_mark(self, store: Store) -> None:
        store.set_schedule_mark("demo", "ci", AT_3, EPOCH)
        store.set_schedule_mark("demo", "ci", AT_15, EPOCH + 1)
        store.set_schedule_mark("demo", "deploy", AT_3, EPOCH + 2)
        store.set_schedule_mark("acme", "ci", AT_3, EPOCH + 3)
        assert [store.get_schedule_mark(ns, name, schedule) for ns, name, schedule in [
            ("demo", "ci", AT_3), ("demo", "ci", AT_15), ("demo", "deploy", AT_3), ("acme", "ci", AT_3),
            ("acme", "ci", AT_15)]] == [EPOCH, EPOCH + 1, EPOCH + 2, EPOCH + 3, None]

    def test_a_schedule_mark_moves_only_from_the_mark_its_checker_read(self, store: Store) -> None:
        assert store.advance_schedule_mark("demo", "ci", AT_3, None, EPOCH)
        assert not store.advance_schedule_mark("demo", "ci", AT_3, None, EPOCH + 60)
        assert not store.advance_schedule_mark("demo", "ci", AT_3, EPOCH - 60, EPOCH + 60)
        assert store.get_schedule_mark("demo", "ci", AT_3) == EPOCH
        assert store.advance_schedule_mark("demo", "ci", AT_3, EPOCH, EPOCH + 60)
        assert store.get_schedule_mark("demo", "ci", AT_3) == EPOCH + 60
        assert store.advance_schedule_mark("demo", "ci", AT_15, None, EPOCH)  # its own mark

    def test_of_checkers_moving_one_mark_from_what_they_read_only_one_wins(
        self, store: Store
    ) -> None:
        store.set_schedule_mark("demo", "ci", AT_3, EPOCH)
        results = at_once(6, lambda i: store.advance_schedule_mark("demo", "ci", AT_3, EPOCH, EPOCH + 60))
        assert sorted(map(str, results)) == ["False"] * 5 + ["True"]
        assert store.get_schedule_mark("demo", "ci", AT_3) == EPOCH + 60

    def test_a_mark_is_found_by_its_schedules_identity_whatever_its_position(
        self, store: Store
    ) -> None:
        first = triggered("ci", NIGHTLY, {"type": "schedule", "cron": "0 15 * * *"})
        reordered = triggered("ci", {"type": "api"}, {"type": "schedule", "cron": "0 15  * * *"},
                              NIGHTLY)
        [key, other] = schedules_of(first)
        store.set_schedule_mark("demo", "ci", key, EPOCH)
        store.set_schedule_mark("demo", "ci", other, EPOCH + 1)
        assert [store.get_schedule_mark("demo", "ci", k) for k in schedules_of(reordered)] == [
            EPOCH + 1, EPOCH]

    # --- the trigger index -------------------------------------------------------------
    def test_a_workflow_is_found_by_the_bucket_and_the_repository_its_triggers_name(
        self, store: Store
    ) -> None:
        store.save_workflow(triggered("build", S3, REPO, NIGHTLY))
        for kind, source in [(TriggerKind.S3, "uploads"), (TriggerKind.CODECOMMIT, "app"),
                             (TriggerKind.SCHEDULE, "")]:
            [found] = store.workflows_triggered_by(kind, source)
            assert found.stored.workflow == triggered("build", S3, REPO, NIGHTLY)
            assert (found.stored.version, found.enabled) == (1, True)
        assert store.workflows_triggered_by(TriggerKind.S3, "app") == []
        assert store.workflows_triggered_by(TriggerKind.CODECOMMIT, "uploads") == []
        assert store.workflows_triggered_by(TriggerKind.S3, "other") == []

    def test_a_workflow_without_event_triggers_is_found_by_none(self, store: Store) -> None:
        store.save_workflow(workflow())
        store.save_workflow(triggered("hooked", {"type": "webhook"}, {"type": "api"}))
        assert [store.workflows_triggered_by(kind) for kind in TriggerKind] == [[], [], []]

    def test_every_workflow_with_a_schedule_is_found_each_once_in_name_order(
        self, store: Store
    ) -> None:
        store.save_workflow(triggered("twice", NIGHTLY, {"type": "schedule", "cron": "0 * * * *"}))
        store.save_workflow(triggered("nightly", NIGHTLY, namespace="acme"))
        store.save_workflow(triggered("uploaded", S3))
        found = store.workflows_triggered_by(TriggerKind.SCHEDULE)
        assert [f.stored.workflow.ref for f in found] == ["acme/nightly", "demo/twice"]

    def test_two_triggers_on_one_bucket_find_the_workflow_once(self, store: Store) -> None:
        store.save_workflow(triggered("split", {**S3, "prefix": "a/"}, {**S3, "suffix": ".zip"}))
        assert len(store.workflows_triggered_by(TriggerKind.S3, "uploads")) == 1

    def test_the_index_follows_the_latest_version(self, store: Store) -> None:
        store.save_workflow(triggered("build", S3))
        store.save_workflow(triggered("build", {**S3, "bucket": "releases"}, NIGHTLY))
        assert store.workflows_triggered_by(TriggerKind.S3, "uploads") == []
        [found] = store.workflows_triggered_by(TriggerKind.S3, "releases")
        assert found.stored.version == 2
        assert len(store.workflows_triggered_by(TriggerKind.SCHEDULE)) == 1
        store.save_workflow(triggered("build", {"type": "api"}))
        assert store.workflows_triggered_by(TriggerKind.S3, "releases") == []
        assert store.workflows_triggered_by(TriggerKind.SCHEDULE) == []

    def test_a_disabled_workflow_is_found_and_says_it_is_disabled(self, store: Store) -> None:
        store.save_workflow(triggered("build", S3))
        store.set_workflow_enabled("demo", "build", False)
        [found] = store.workflows_triggered_by(TriggerKind.S3, "uploads")
        assert found.enabled is False
        store.set_workflow_enabled("demo", "build", True)
        assert store.workflows_triggered_by(TriggerKind.S3, "uploads")[0].enabled is True

    def test_a_deleted_workflow_is_not_found_and_a_revived_one_is_found_by_its_new_triggers(
        self, store: Store
    ) -> None:
        store.save_workflow(triggered("build", S3, NIGHTLY))
        store.delete_workflow("demo", "build")
        assert store.workflows_triggered_by(TriggerKind.S3, "uploads") == []
        assert store.workflows_triggered_by(TriggerKind.SCHEDULE) == []
        store.save_workflow(triggered("build", REPO), expected_version=0)
        assert store.workflows_triggered_by(TriggerKind.S3, "uploads") == []
        [found] = store.workflows_triggered_by(TriggerKind.CODECOMMIT, "app")
        assert found.stored.version == 2

    def test_concurrent_saves_leave_the_index_on_the_version_that_is_latest(
        self, store: Store
    ) -> None:
        buckets = [f"bucket-{i}" for i in range(4)]
        at_once(4, lambda i: store.save_workflow(triggered("build", {**S3, "bucket": buckets[i]})))
        latest = store.get_workflow("demo", "build")
        found = [f for b in buckets for f in store.workflows_triggered_by(TriggerKind.S3, b)]
        assert [(f.stored.version, f.stored.workflow) for f in found] == [
            (latest.version, latest.workflow)]
        assert latest.version == 4

    # --- runs ----------------------------------------------------------------------
    def test_a_created_run_and_its_jobs_read_back(self, store: Store) -> None:
        store.create_run(run("r1"), [job("build"), job("test", stage=1)])
        assert store.get_run("r1") == run("r1")
        assert [j.name for j in store.list_jobs("r1")] == ["build", "test"]
        assert store.list_jobs("r1")[0] == job("build")

    def test_creating_a_run_with_a_used_id_conflicts(self, store: Store) -> None:
        store.create_run(run("r1"), [job("build")])
        with pytest.raises(Conflict, match="r1"):
            store.create_run(run("r1", status=RunState.RUNNING), [job("other")])
        assert store.get_run("r1").status is RunState.QUEUED
        assert [j.name for j in store.list_jobs("r1")] == ["build"]

    def test_unknown_run_is_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound, match="nope"):
            store.get_run("nope")
        with pytest.raises(NotFound, match="nope"):
            store.request_cancel("nope")

    def test_save_run_replaces_every_field(self, store: Store) -> None:
        store.create_run(run("r1"), [])
        finished = run("r1", status=RunState.FAILED)
        finished.started_at, finished.finished_at = EPOCH + 1, EPOCH + 9
        finished.reason, finished.rerun_of = "job build failed", "r0"
        finished.params, finished.trigger = {"branch": "dev"}, {"type": "webhook", "n": [1, 2]}
        store.save_run(finished)
        assert store.get_run("r1") == finished

    @pytest.mark.parametrize("scope", [
        RerunScope(RerunKind.FAILED), RerunScope(RerunKind.ALL),
        RerunScope(RerunKind.JOBS, ("build", "test")),
    ], ids=lambda scope: scope.kind.value)
    def test_a_re_runs_scope_reads_back_from_creation_from_a_save_and_in_history(
        self, store: Store, scope: RerunScope
    ) -> None:
        rerun = replace(run("r2"), rerun_of="r1", rerun_scope=scope)
        store.create_run(rerun, [job("build", run_id="r2")])
        assert store.get_run("r2").rerun_scope == scope
        assert [r.rerun_scope for r in store.list_runs(RunFilter()).runs] == [scope]
        store.save_run(replace(rerun, status=RunState.RUNNING))
        assert store.get_run("r2").rerun_scope == scope

    def test_a_run_that_is_no_re_run_has_no_scope(self, store: Store) -> None:
        store.create_run(run("r1"), [])
        assert store.get_run("r1").rerun_scope is None
        assert store.list_runs(RunFilter()).runs[0].rerun_scope is None

    def test_request_cancel_returns_the_run_with_the_flag_set(self, store: Store) -> None:
        store.create_run(run("r1", status=RunState.RUNNING), [])
        cancelled = store.request_cancel("r1")
        assert (cancelled.id, cancelled.status, cancelled.cancel_requested) == (
            "r1", RunState.RUNNING, True)
        assert store.get_run("r1").cancel_requested

    def test_save_run_never_clears_a_cancel_request(self, store: Store) -> None:
        store.create_run(run("r1"), [])
        seen_by_runner = store.get_run("r1")
        store.request_cancel("r1")
        seen_by_runner.status = RunState.RUNNING
        store.save_run(seen_by_runner)
        assert store.get_run("r1").cancel_requested
        assert store.get_run("r1").status is RunState.RUNNING

    def test_save_run_does_not_set_a_cancel_request(self, store: Store) -> None:
        store.create_run(run("r1"), [])
        flagged = run("r1")
        flagged.cancel_requested = True
        store.save_run(flagged)
        assert not store.get_run("r1").cancel_requested

    # --- run history ---------------------------------------------------------------
    def _all_pages(self, store: Store, run_filter: RunFilter) -> list[list[str]]:
        pages, cursor = [], None
        while True:
            page = store.list_runs(replace(run_filter, cursor=cursor))
            pages.append([r.id for r in page.runs])
            if page.next_cursor is None:
                return pages
            cursor = page.next_cursor

    def test_run_history_is_newest_first_and_pages_with_a_cursor(self, store: Store) -> None:
        for i in range(25):
            store.create_run(run(f"r{i:02d}", created_at=EPOCH + i), [])
        pages = self._all_pages(store, RunFilter(limit=10))
        assert [len(p) for p in pages] == [10, 10, 5]
        assert [i for p in pages for i in p] == [f"r{i:02d}" for i in reversed(range(25))]

    def test_an_exactly_full_last_page_has_no_cursor(self, store: Store) -> None:
        for i in range(20):
            store.create_run(run(f"r{i:02d}", created_at=EPOCH + i), [])
        assert [len(p) for p in self._all_pages(store, RunFilter(limit=10))] == [10, 10]

    def test_runs_created_at_the_same_instant_page_without_loss(self, store: Store) -> None:
        for i in range(7):
            store.create_run(run(f"r{i}", created_at=EPOCH), [])
        pages = self._all_pages(store, RunFilter(limit=3))
        assert [i for p in pages for i in p] == [f"r{i}" for i in reversed(range(7))]

    def test_run_history_filters_by_namespace_and_workflow(self, store: Store) -> None:
        for i, (ns, wf) in enumerate([("demo", "ci"), ("demo", "deploy"), ("acme", "ci"),
                                      ("demo", "ci"), ("acme", "deploy")]):
            store.create_run(run(f"r{i}", created_at=EPOCH + i, namespace=ns, workflow_name=wf), [])

        def ids(run_filter: RunFilter) -> list[str]:
            return [r.id for r in store.list_runs(run_filter).runs]

        assert ids(RunFilter(namespace="demo", workflow="ci")) == ["r3", "r0"]
        assert ids(RunFilter(namespace="demo")) == ["r3", "r1", "r0"]
        assert ids(RunFilter(workflow="deploy")) == ["r4", "r1"]
        assert ids(RunFilter(namespace="nobody")) == []

    def test_run_history_filters_by_status(self, store: Store) -> None:
        statuses = [RunState.SUCCEEDED, RunState.FAILED, RunState.RUNNING, RunState.CANCELLED]
        for i in range(24):
            store.create_run(run(f"r{i:02d}", created_at=EPOCH + i, status=statuses[i % 4]), [])
        failed = self._all_pages(store, RunFilter(statuses=(RunState.FAILED,), limit=4))
        assert [i for p in failed for i in p] == [f"r{i:02d}" for i in reversed(range(1, 24, 4))]
        ended = self._all_pages(
            store, RunFilter(statuses=(RunState.FAILED, RunState.CANCELLED), limit=5))
        assert [len(p) for p in ended] == [5, 5, 2]
        assert [i for p in ended for i in p] == [
            f"r{i:02d}" for i in reversed(range(24)) if i % 4 in (1, 3)]

    def test_run_history_filters_by_creation_time(self, store: Store) -> None:
        for i in range(25):
            store.create_run(run(f"r{i:02d}", created_at=EPOCH + i), [])
        window = RunFilter(created_after=EPOCH + 10, created_before=EPOCH + 15, limit=2)
        # created_after is inclusive, created_before exclusive
        assert [i for p in self._all_pages(store, window) for i in p] == [
            "r14", "r13", "r12", "r11", "r10"]

    def test_the_latest_run_of_each_workflow_is_its_newest(self, store: Store) -> None:
        for i, (ns, wf) in enumerate([("demo", "ci"), ("demo", "deploy"), ("acme", "ci"),
                                      ("demo", "ci"), ("demo", "ci"), ("acme", "lint")]):
            store.create_run(run(f"r{i}", created_at=EPOCH + i, namespace=ns, workflow_name=wf), [])
        store.create_run(run("r9", created_at=EPOCH + 4, workflow_name="deploy"), [])  # a tie: the id decides
        latest = store.latest_runs("demo", ["ci", "deploy", "lint", "never-ran", "ci"])
        assert {name: record.id for name, record in latest.items()} == {"ci": "r4", "deploy": "r9"}
        assert latest["ci"].workflow == "ci" and latest["ci"].namespace == "demo"
        assert store.latest_runs("acme", []) == {}

    def test_filters_combine(self, store: Store) -> None:
        for i in range(10):
            status = RunState.FAILED if i % 2 else RunState.SUCCEEDED
            wf = "ci" if i < 6 else "deploy"
            store.create_run(run(f"r{i}", created_at=EPOCH + i, status=status,
                                 workflow_name=wf), [])
        page = store.list_runs(RunFilter(namespace="demo", workflow="ci",
                                         statuses=(RunState.FAILED,), created_after=EPOCH + 2))
        assert [r.id for r in page.runs] == ["r5", "r3"]

    def test_a_page_holds_at_most_500_runs(self, store: Store) -> None:
        for i in range(501):
            store.create_run(run(f"r{i:03d}", created_at=EPOCH + i), [])
        page = store.list_runs(RunFilter(limit=10_000))
        assert len(page.runs) == 500 and page.next_cursor is not None

    # --- jobs and attempts ---------------------------------------------------------
    def test_jobs_are_listed_in_workflow_order(self, store: Store) -> None:
        jobs = [job("deploy", 2, 0, 0), job("lint", 0, 1, 0), job("unit", 0, 0, 0),
                job("e2e", 1, 0, 1), job("build", 1, 0, 0)]
        store.create_run(run("r1"), jobs)
        assert [j.name for j in store.list_jobs("r1")] == ["unit", "lint", "build", "e2e",
                                                           "deploy"]

    def test_saving_a_job_replaces_every_field(self, store: Store) -> None:
        store.create_run(run("r1"), [job("build")])
        done = JobRecord(run_id="r1", name="build", stage=0, action=0, position=0,
                         status=JobState.FAILED, reason="exit code 2", outputs={"K": "a=b"},
                         exit_code=2, attempts=3, started_at=EPOCH, finished_at=EPOCH + 5)
        store.save_job(done)
        assert store.list_jobs("r1") == [done]

    def test_saving_a_job_of_an_unknown_run_is_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound, match="nope"):
            store.save_job(job("build", run_id="nope"))

    def test_listing_jobs_or_attempts_of_an_unknown_run_is_empty(self, store: Store) -> None:
        assert store.list_jobs("nope") == []
        assert store.list_attempts("nope") == []

    def test_attempts_are_listed_by_job_then_number(self, store: Store) -> None:
        store.create_run(run("r1"), [job("test"), job("build", position=1)])
        for name, number in [("test", 2), ("build", 1), ("test", 1), ("build", 2)]:
            store.save_attempt(AttemptRecord(run_id="r1", job=name, number=number))
        listed = [(a.job, a.number) for a in store.list_attempts("r1")]
        assert listed == [("build", 1), ("build", 2), ("test", 1), ("test", 2)]
        assert [a.number for a in store.list_attempts("r1", "test")] == [1, 2]

    def test_saving_an_attempt_replaces_every_field(self, started: Store) -> None:
        done = AttemptRecord(run_id="r1", job="build", number=1, status=AttemptState.FAILED,
                             container_id="c0ffee", exit_code=137, reason="timeout",
                             outputs={"REPORT": "x"}, ready_at=EPOCH, started_at=EPOCH + 1,
                             finished_at=EPOCH + 2, log_bytes=4096, log_truncated=True,
                             stdout_bytes=5000, stderr_bytes=12, reported_result=False,
                             output_violation="output K is 40000 bytes",
                             task_token="AAAAKgAAAAIAAAAAAAAAAQ", log_position="3759/12")
        started.save_attempt(done)
        assert started.list_attempts("r1") == [done]

    def test_saving_an_attempt_of_an_unknown_job_is_not_found(self, store: Store) -> None:
        store.create_run(run("r1"), [job("build")])
        with pytest.raises(NotFound, match="nope"):
            store.save_attempt(AttemptRecord(run_id="r1", job="nope", number=1))

    def test_one_job_and_one_attempt_read_back_by_name_and_number(self, started: Store) -> None:
        assert started.get_job("r1", "build") == job("build")
        assert started.get_attempt("r1", "build", 1) == AttemptRecord(run_id="r1", job="build",
                                                                      number=1)

    def test_an_unknown_job_or_attempt_is_not_found(self, started: Store) -> None:
        with pytest.raises(NotFound, match="nope"):
            started.get_job("r1", "nope")
        with pytest.raises(NotFound, match="nope"):
            started.get_job("nope", "build")
        with pytest.raises(NotFound, match="attempt 2"):
            started.get_attempt("r1", "build", 2)

    # --- conditional state changes -------------------------------------------------
    def test_a_job_moves_on_from_the_state_its_writer_read(self, started: Store) -> None:
        running = replace(job("build"), status=JobState.RUNNING, attempts=1)
        started.save_job(running, expected=JobState.PENDING)
        done = replace(running, status=JobState.SUCCEEDED, outputs={"K": "v"})
        started.save_job(done, expected=JobState.RUNNING)
        assert started.get_job("r1", "build") == done

    def test_a_stale_job_change_is_refused_and_changes_nothing(self, started: Store) -> None:
        done = replace(job("build"), status=JobState.SUCCEEDED, reason="")
        started.save_job(done, expected=JobState.PENDING)
        late = replace(job("build"), status=JobState.RUNNING, reason="duplicate launch")
        with pytest.raises(StaleWrite, match=r"job build of run r1 is succeeded, not pending"):
            started.save_job(late, expected=JobState.PENDING)
        assert started.get_job("r1", "build") == done

    def test_a_stale_write_is_a_conflict(self, started: Store) -> None:
        with pytest.raises(Conflict):
            started.save_job(job("build"), expected=JobState.RUNNING)

    def test_two_writers_moving_the_same_job_one_wins_and_the_other_is_told(
        self, started: Store
    ) -> None:
        started.save_job(replace(job("build"), status=JobState.RUNNING), expected=JobState.PENDING)
        endings = [JobState.SUCCEEDED, JobState.FAILED] * 4
        results = at_once(len(endings), lambda i: started.save_job(
            replace(job("build"), status=endings[i], reason=f"writer {i}"),
            expected=JobState.RUNNING))
        winners = [i for i, result in enumerate(results) if result is None]
        assert len(winners) == 1
        assert all(isinstance(results[i], StaleWrite) for i in range(len(endings)) if i not in winners)
        stored = started.get_job("r1", "build")
        assert (stored.status, stored.reason) == (endings[winners[0]], f"writer {winners[0]}")

    def test_a_run_moves_on_only_from_the_state_its_writer_read(self, store: Store) -> None:
        store.create_run(run("r1"), [])
        store.save_run(run("r1", status=RunState.RUNNING), expected=RunState.QUEUED)
        store.save_run(run("r1", status=RunState.CANCELLED), expected=RunState.RUNNING)
        with pytest.raises(StaleWrite, match="run r1 is cancelled, not running"):
            store.save_run(run("r1", status=RunState.SUCCEEDED), expected=RunState.RUNNING)
        assert store.get_run("r1").status is RunState.CANCELLED

    def test_a_conditional_change_keeps_the_cancel_request(self, store: Store) -> None:
        store.create_run(run("r1", status=RunState.RUNNING), [])
        store.request_cancel("r1")
        store.save_run(run("r1", status=RunState.CANCELLED), expected=RunState.RUNNING)
        assert store.get_run("r1").cancel_requested

    def test_a_conditional_change_of_an_unknown_run_is_refused(self, store: Store) -> None:
        with pytest.raises(StaleWrite, match="run nope is missing, not running"):
            store.save_run(run("nope", status=RunState.FAILED), expected=RunState.RUNNING)
        with pytest.raises(NotFound):
            store.get_run("nope")

    def test_an_attempt_ends_once_whoever_reports_it(self, started: Store) -> None:
        results = at_once(4, lambda i: started.save_attempt(
            AttemptRecord(run_id="r1", job="build", number=1, status=AttemptState.FAILED,
                          exit_code=i, reason=f"reporter {i}"),
            expected=AttemptState.RUNNING))
        winners = [i for i, result in enumerate(results) if result is None]
        assert len(winners) == 1
        assert sum(isinstance(result, StaleWrite) for result in results) == 3
        assert started.get_attempt("r1", "build", 1).exit_code == winners[0]

    def test_a_conditional_change_of_a_missing_attempt_is_refused(self, started: Store) -> None:
        with pytest.raises(StaleWrite, match="attempt 2 of job build in run r1 is missing"):
            started.save_attempt(AttemptRecord(run_id="r1", job="build", number=2,
                                               status=AttemptState.SUCCEEDED),
                                 expected=AttemptState.RUNNING)
        assert [a.number for a in started.list_attempts("r1")] == [1]

    def test_an_attempt_is_created_once(self, started: Store) -> None:
        with pytest.raises(Conflict, match="attempt 1 of job build in run r1 already exists"):
            started.create_attempt(AttemptRecord(run_id="r1", job="build", number=1,
                                                 container_id="second"))
        assert started.get_attempt("r1", "build", 1).container_id is None

    def test_of_two_launches_of_one_attempt_only_one_creates_it(self, started: Store) -> None:
        results = at_once(4, lambda i: started.create_attempt(
            AttemptRecord(run_id="r1", job="build", number=2, container_id=f"task-{i}")))
        winners = [i for i, result in enumerate(results) if result is None]
        assert len(winners) == 1
        assert started.get_attempt("r1", "build", 2).container_id == f"task-{winners[0]}"

    def test_creating_an_attempt_of_an_unknown_job_is_not_found(self, started: Store) -> None:
        with pytest.raises(NotFound, match="nope"):
            started.create_attempt(AttemptRecord(run_id="r1", job="nope", number=1))

    # --- run slots (a workflow's concurrency) ----------------------------------------
    def test_a_workflow_gives_out_no_more_run_slots_than_its_limit(self, store: Store) -> None:
        assert [store.take_run_slot("demo", "ci", f"r{i}", 2) for i in range(4)] == [
            True, True, False, False]

    def test_taking_a_slot_again_for_the_same_run_holds_still_one(self, store: Store) -> None:
        assert store.take_run_slot("demo", "ci", "r1", 2)
        assert store.take_run_slot("demo", "ci", "r1", 2)
        assert store.take_run_slot("demo", "ci", "r2", 2)
        assert store.take_run_slot("demo", "ci", "r1", 2)
        assert not store.take_run_slot("demo", "ci", "r3", 2)

    def test_a_freed_slot_can_be_taken_by_another_run(self, store: Store) -> None:
        assert store.take_run_slot("demo", "ci", "r1", 1)
        assert not store.take_run_slot("demo", "ci", "r2", 1)
        store.free_run_slot("demo", "ci", "r1")
        assert store.take_run_slot("demo", "ci", "r2", 1)
        assert not store.take_run_slot("demo", "ci", "r1", 1)

    def test_freeing_twice_frees_one_slot_only(self, store: Store) -> None:
        for run_id in ["r1", "r2"]:
            assert store.take_run_slot("demo", "ci", run_id, 2)
        store.free_run_slot("demo", "ci", "r1")
        store.free_run_slot("demo", "ci", "r1")
        assert store.take_run_slot("demo", "ci", "r3", 2)
        assert not store.take_run_slot("demo", "ci", "r4", 2)

    def test_freeing_a_run_that_holds_no_slot_is_fine_and_frees_nothing(
        self, store: Store
    ) -> None:
        store.free_run_slot("demo", "ci", "never-held")
        assert store.take_run_slot("demo", "ci", "r1", 1)
        store.free_run_slot("demo", "ci", "r2")
        assert not store.take_run_slot("demo", "ci", "r3", 1)
        assert store.take_run_slot("demo", "ci", "r1", 1)

    def test_a_lowered_limit_takes_no_slot_back_but_gives_none_out(self, store: Store) -> None:
        for run_id in ["r1", "r2", "r3"]:
            assert store.take_run_slot("demo", "ci", run_id, 3)
        assert store.take_run_slot("demo", "ci", "r3", 1)
        assert not store.take_run_slot("demo", "ci", "r4", 2)
        for run_id in ["r1", "r2"]:
            store.free_run_slot("demo", "ci", run_id)
        assert store.take_run_slot("demo", "ci", "r4", 2)

    @pytest.mark.parametrize("limit", [0, -1, 1_001])
    def test_a_slot_limit_outside_1_to_1000_is_refused(self, store: Store, limit: int) -> None:
        with pytest.raises(ValueError, match=rf"between 1 and 1000, not {limit}"):
            store.take_run_slot("demo", "ci", "r1", limit)
        assert store.take_run_slot("demo", "ci", "r1", 1)  # nothing was taken
        assert store.take_run_slot("demo", "ci", "r2", 1_000)

    def test_each_workflow_has_its_own_slots(self, store: Store) -> None:
        assert store.take_run_slot("demo", "ci", "r1", 1)
        assert store.take_run_slot("demo", "deploy", "r2", 1)
        assert store.take_run_slot("acme", "ci", "r3", 1)
        assert not store.take_run_slot("demo", "ci", "r4", 1)
        store.free_run_slot("demo", "deploy", "r1")  # not this workflow's holder
        store.free_run_slot("acme", "ci", "r3")
        assert not store.take_run_slot("demo", "ci", "r4", 1)
        assert not store.take_run_slot("demo", "deploy", "r4", 1)
        assert store.take_run_slot("acme", "ci", "r4", 1)

    def test_of_eight_runs_racing_for_the_last_slot_exactly_one_wins(self, store: Store) -> None:
        for run_id in ["held-1", "held-2"]:
            assert store.take_run_slot("demo", "ci", run_id, 3)
        results = at_once(8, lambda i: store.take_run_slot("demo", "ci", f"r{i}", 3))
        assert sorted(results, key=str) == [False] * 7 + [True]
        winner = results.index(True)
        store.free_run_slot("demo", "ci", f"r{winner}")
        loser = (winner + 1) % 8
        assert store.take_run_slot("demo", "ci", f"r{loser}", 3)

    def test_runs_racing_for_one_slot_each_retaking_it_one_holds_it(self, store: Store) -> None:
        results = at_once(8, lambda i: [store.take_run_slot("demo", "ci", f"r{i}", 1)
                                        for _ in range(3)])
        outcomes = [r for r in results if isinstance(r, list)]
        assert sorted(outcomes) == [[False] * 3] * 7 + [[True] * 3]

    # --- attempts found by their container --------------------------------------------
    def test_an_attempt_is_found_by_its_task_arn_and_by_the_bare_task_id(
        self, started: Store
    ) -> None:
        launched = replace(started.get_attempt("r1", "build", 1), container_id=TASK_ARN,
                           task_token="token-1")
        started.save_attempt(launched, expected=AttemptState.RUNNING)
        assert started.find_attempt_by_container(TASK_ARN) == launched
        assert started.find_attempt_by_container(TASK_ID) == launched

    def test_an_attempt_created_with_its_container_is_found_at_once(self, started: Store) -> None:
        second = AttemptRecord(run_id="r1", job="build", number=2, container_id=TASK_ARN)
        started.create_attempt(second)
        assert started.find_attempt_by_container(TASK_ID) == second

    def test_an_attempt_saved_unconditionally_with_its_container_is_found_at_once(
        self, started: Store
    ) -> None:
        for number, task_id in [(1, TASK_ID), (2, OTHER_TASK_ID)]:  # an update and an insert
            attempt = AttemptRecord(run_id="r1", job="build", number=number,
                                    container_id=f"{CLUSTER_TASKS}/{task_id}")
            started.save_attempt(attempt)
            assert started.find_attempt_by_container(task_id) == attempt

    def test_a_local_container_id_is_its_own_task_id(self, started: Store) -> None:
        docker_id = "4f9a1c2e" * 8
        started.save_attempt(AttemptRecord(run_id="r1", job="build", number=1,
                                           container_id=docker_id))
        found = started.find_attempt_by_container(docker_id)
        assert found is not None and (found.job, found.number) == ("build", 1)

    def test_an_unknown_container_finds_no_attempt(self, started: Store) -> None:
        assert started.find_attempt_by_container(TASK_ARN) is None  # attempt 1 has none yet
        started.save_attempt(replace(started.get_attempt("r1", "build", 1), container_id=TASK_ARN))
        for unknown in [OTHER_TASK_ID, f"{CLUSTER_TASKS}/{OTHER_TASK_ID}", "", "cluster/",
                        # the same task id under another cluster is another task
                        f"arn:aws:ecs:us-east-1:123456789012:task/other/{TASK_ID}"]:
            assert started.find_attempt_by_container(unknown) is None, unknown

    def test_an_attempt_keeps_being_found_while_saves_keep_its_container(
        self, started: Store
    ) -> None:
        attempt = replace(started.get_attempt("r1", "build", 1), container_id=TASK_ARN)
        started.save_attempt(attempt, expected=AttemptState.RUNNING)
        for position in range(3):
            attempt = replace(attempt, outputs={"K": str(position)}, log_position=str(position))
            started.save_attempt(attempt, expected=AttemptState.RUNNING)
        done = replace(attempt, status=AttemptState.SUCCEEDED, exit_code=0)
        started.save_attempt(done, expected=AttemptState.RUNNING)
        assert started.find_attempt_by_container(TASK_ID) == done

    @pytest.mark.parametrize("conditional", [True, False], ids=["conditional", "unconditional"])
    def test_an_attempt_whose_container_changes_is_found_by_the_new_one_only(
        self, started: Store, conditional: bool
    ) -> None:
        expected = AttemptState.RUNNING if conditional else None
        first = replace(started.get_attempt("r1", "build", 1), container_id=TASK_ARN)
        started.save_attempt(first, expected)
        moved = replace(first, container_id=f"{CLUSTER_TASKS}/{OTHER_TASK_ID}", reason="moved")
        started.save_attempt(moved, expected)
        assert started.find_attempt_by_container(OTHER_TASK_ID) == moved
        assert started.find_attempt_by_container(f"{CLUSTER_TASKS}/{OTHER_TASK_ID}") == moved
        assert started.find_attempt_by_container(TASK_ARN) is None
        assert started.find_attempt_by_container(TASK_ID) is None
        cleared = replace(moved, container_id=None)
        started.save_attempt(cleared, expected)
        assert started.find_attempt_by_container(OTHER_TASK_ID) is None
        assert started.get_attempt("r1", "build", 1) == cleared

    def test_a_stale_save_that_would_change_the_container_changes_nothing(
        self, started: Store
    ) -> None:
        launched = replace(started.get_attempt("r1", "build", 1), container_id=TASK_ARN)
        started.save_attempt(launched, expected=AttemptState.RUNNING)
        done = replace(launched, status=AttemptState.FAILED, exit_code=1)
        started.save_attempt(done, expected=AttemptState.RUNNING)
        late = replace(launched, container_id=f"{CLUSTER_TASKS}/{OTHER_TASK_ID}")
        with pytest.raises(StaleWrite, match="attempt 1 of job build in run r1 is failed, not running"):
            started.save_attempt(late, expected=AttemptState.RUNNING)
        assert started.find_attempt_by_container(OTHER_TASK_ID) is None
        assert started.find_attempt_by_container(TASK_ID) == done

    def test_each_attempt_is_found_by_its_own_container(self, started: Store) -> None:
        started.create_run(run("r2"), [job("build", run_id="r2"), job("test", run_id="r2")])
        owners = {TASK_ID: ("r1", "build", 1), OTHER_TASK_ID: ("r2", "build", 1),
                  THIRD_TASK_ID: ("r2", "test", 3)}
        for task_id, (run_id, name, number) in owners.items():
            started.save_attempt(AttemptRecord(run_id=run_id, job=name, number=number,
                                               container_id=f"{CLUSTER_TASKS}/{task_id}"))
        for task_id, owner in owners.items():
            found = started.find_attempt_by_container(task_id)
            assert found is not None and (found.run_id, found.job, found.number) == owner

    def test_writers_giving_one_attempt_containers_at_once_leave_it_found_by_the_kept_one(
        self, started: Store
    ) -> None:
        task_ids = [f"{i:032x}" for i in range(6)]
        results = at_once(6, lambda i: started.save_attempt(AttemptRecord(
            run_id="r1", job="build", number=1, container_id=f"{CLUSTER_TASKS}/{task_ids[i]}")))
        assert results == [None] * 6
        kept = started.get_attempt("r1", "build", 1)
        assert [started.find_attempt_by_container(task_id) for task_id in task_ids] == [
            kept if kept.container_id == f"{CLUSTER_TASKS}/{task_id}" else None
            for task_id in task_ids]
