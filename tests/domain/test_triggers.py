"""Which workflows an S3 object or a CodeCommit push starts (chalicelib/domain/triggers.py),
what their runs see as `trigger.*`, the keys the store files them under, and how the
trigger fields of a definition are checked."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.domain.models import ScheduleTrigger, Workflow
from chalicelib.domain.triggers import (
    MAX_SCHEDULE_KEY_CHARS,
    IndexKey,
    ObjectCreated,
    ReferenceChanged,
    ReferenceEvent,
    TriggerKind,
    branch_matches,
    index_keys,
    schedule_key,
    schedules_of,
    starts_a_run,
)
from chalicelib.domain.validation import check_workflow
from chalicelib.errors import Problem
from tests.builders import catalog, single_job_doc


def workflow(*triggers: dict[str, Any]) -> Workflow:
    return Workflow.model_validate(single_job_doc(spec__triggers=list(triggers)))


def created(key: str, bucket: str = "uploads") -> ObjectCreated:
    return ObjectCreated(event_id="e-1", bucket=bucket, key=key, size=5, etag="b1946ac9")


def pushed(branch: str, event: ReferenceEvent = ReferenceEvent.UPDATED, *, kind: str = "branch",
           repository: str = "app") -> ReferenceChanged:
    return ReferenceChanged(event_id="e-2", repository=repository, event=event,
                            reference_type=kind, name=branch,
                            commit="" if event is ReferenceEvent.DELETED else "5e3c1f0")


def problems_of(*triggers: dict[str, Any]) -> list[Problem]:
    return check_workflow(single_job_doc(spec__triggers=list(triggers)), catalog()).problems


# --- S3 ---------------------------------------------------------------------------------

def test_an_object_in_the_bucket_under_the_prefix_with_the_suffix_starts_a_run() -> None:
    trigger = {"type": "s3", "bucket": "uploads", "prefix": "builds/", "suffix": ".tar.gz"}
    assert starts_a_run(workflow(trigger), created("builds/app-1.2.tar.gz"))


@pytest.mark.parametrize("key, bucket", [
    ("other/app-1.2.tar.gz", "uploads"),  # another prefix
    ("builds/app-1.2.zip", "uploads"),  # another suffix
    ("Builds/app-1.2.tar.gz", "uploads"),  # keys are case-sensitive
    ("builds/app-1.2.tar.gz", "releases"),  # another bucket
])
def test_an_object_outside_the_filters_starts_nothing(key: str, bucket: str) -> None:
    trigger = {"type": "s3", "bucket": "uploads", "prefix": "builds/", "suffix": ".tar.gz"}
    assert not starts_a_run(workflow(trigger), created(key, bucket))


def test_a_trigger_without_filters_takes_every_object_of_its_bucket() -> None:
    assert starts_a_run(workflow({"type": "s3", "bucket": "uploads"}), created("any thing+ü"))


def test_filters_compare_the_key_as_written_spaces_plus_signs_and_unicode_included() -> None:
    trigger = {"type": "s3", "bucket": "uploads", "prefix": "my docs/", "suffix": "+ü.txt"}
    assert starts_a_run(workflow(trigger), created("my docs/c++ü.txt"))
    assert not starts_a_run(workflow(trigger), created("my+docs/c++ü.txt"))


def test_a_run_started_by_an_object_sees_its_bucket_key_size_and_etag() -> None:
    assert created("builds/a b+c.zip").fields() == {
        "type": "s3", "bucket": "uploads", "key": "builds/a b+c.zip", "size": 5, "etag": "b1946ac9"}


# --- CodeCommit -------------------------------------------------------------------------

def test_a_push_to_a_listed_branch_starts_a_run_and_to_another_branch_nothing() -> None:
    flow = workflow({"type": "codecommit", "repository": "app", "branches": ["main", "develop"]})
    assert starts_a_run(flow, pushed("main"))
    assert starts_a_run(flow, pushed("develop", ReferenceEvent.CREATED))
    assert not starts_a_run(flow, pushed("feature/x"))
    assert not starts_a_run(flow, pushed("main", repository="other"))


def test_a_trigger_without_branches_takes_every_branch() -> None:
    assert starts_a_run(workflow({"type": "codecommit", "repository": "app"}), pushed("any/thing"))


@pytest.mark.parametrize("pattern, branch, matches", [
    ("release/*", "release/1.2", True),
    ("release/*", "release/1.2/hotfix", False),  # * stays within one part
    ("release/**", "release/1.2/hotfix", True),
    ("release/*", "release/", True),
    ("*", "main", True),
    ("*", "feature/x", False),
    ("**", "feature/x", True),
    ("v1.*", "v1x2", False),  # '.' is a dot, not any character
    ("main", "main2", False),
])
def test_branch_patterns(pattern: str, branch: str, matches: bool) -> None:
    assert branch_matches(pattern, branch) is matches


def test_only_the_listed_kinds_of_change_start_a_run() -> None:
    flow = workflow({"type": "codecommit", "repository": "app", "events": ["referenceCreated"]})
    assert starts_a_run(flow, pushed("main", ReferenceEvent.CREATED))
    assert not starts_a_run(flow, pushed("main", ReferenceEvent.UPDATED))


def test_a_deleted_branch_starts_nothing_whatever_the_trigger_says() -> None:
    flow = workflow({"type": "codecommit", "repository": "app"})
    deleted = pushed("main", ReferenceEvent.DELETED)
    assert not deleted.can_start_runs
    assert not starts_a_run(flow, deleted)


def test_a_pushed_tag_starts_nothing_even_when_its_name_matches() -> None:
    flow = workflow({"type": "codecommit", "repository": "app", "branches": ["v1.0"]})
    assert not starts_a_run(flow, pushed("v1.0", ReferenceEvent.CREATED, kind="tag"))


def test_a_run_started_by_a_push_sees_the_repository_branch_commit_and_event() -> None:
    assert pushed("main").fields() == {"type": "codecommit", "repository": "app", "branch": "main",
                                       "commit": "5e3c1f0", "event": "referenceUpdated"}


def test_an_s3_event_never_matches_a_codecommit_trigger_and_back() -> None:
    assert not starts_a_run(workflow({"type": "codecommit", "repository": "uploads"}), created("k"))
    assert not starts_a_run(workflow({"type": "s3", "bucket": "app"}), pushed("main"))


# --- index keys -------------------------------------------------------------------------

def test_a_workflow_is_filed_under_its_buckets_repositories_and_once_for_its_schedules() -> None:
    flow = workflow({"type": "api"}, {"type": "webhook"}, {"type": "s3", "bucket": "a"},
                    {"type": "s3", "bucket": "a", "suffix": ".zip"}, {"type": "s3", "bucket": "b"},
                    {"type": "codecommit", "repository": "app"},
                    {"type": "schedule", "cron": "0 3 * * *"}, {"type": "schedule", "cron": "0 * * * *"})
    assert sorted(index_keys(flow)) == [
        IndexKey(TriggerKind.CODECOMMIT, "app"), IndexKey(TriggerKind.S3, "a"),
        IndexKey(TriggerKind.S3, "b"), IndexKey(TriggerKind.SCHEDULE, "")]


def test_an_event_looks_under_its_own_bucket_or_repository() -> None:
    assert created("k").index_key == IndexKey(TriggerKind.S3, "uploads")
    assert pushed("main").index_key == IndexKey(TriggerKind.CODECOMMIT, "app")


# --- checking the fields ----------------------------------------------------------------

def test_s3_and_codecommit_triggers_with_every_field_are_valid() -> None:
    assert problems_of(
        {"type": "s3", "bucket": "my-builds.example", "prefix": "in/", "suffix": ".zip"},
        {"type": "codecommit", "repository": "My_App.v2", "branches": ["main", "release/**"],
         "events": ["referenceUpdated"]}) == []


def test_a_codecommit_trigger_takes_both_kinds_of_change_unless_told() -> None:
    [trigger] = workflow({"type": "codecommit", "repository": "app"}).spec.triggers
    assert trigger.events == ["referenceCreated", "referenceUpdated"]  # type: ignore[union-attr]


@pytest.mark.parametrize("trigger, path, message", [
    ({"type": "s3", "bucket": "My_Bucket"}, "spec.triggers[0].bucket",
     "'My_Bucket' is not an S3 bucket name: up to 63 lower-case letters, digits, '.' and '-',"
     " starting and ending with a letter or digit"),
    ({"type": "codecommit", "repository": "app.git"}, "spec.triggers[0].repository",
     "'app.git' is not a CodeCommit repository name: 1 to 100 letters, digits, '.', '_' and '-',"
     " not ending in .git"),
    ({"type": "codecommit", "repository": "app", "branches": ["refs/heads/main"]},
     "spec.triggers[0].branches",
     "'refs/heads/main' is not a branch name or pattern: write the branch's short name"
     " (main, not refs/heads/main)"),
    ({"type": "codecommit", "repository": "app", "branches": ["my branch"]},
     "spec.triggers[0].branches",
     "'my branch' is not a branch name or pattern: it holds a space, a control character or"
     " one of ~ ^ : ? [ \\"),
    ({"type": "codecommit", "repository": "app", "branches": [""]}, "spec.triggers[0].branches",
     "'' is not a branch name or pattern: it is empty"),
    ({"type": "codecommit", "repository": "app", "events": []}, "spec.triggers[0].events",
     "list should have at least 1 item after validation, not 0"),
    ({"type": "codecommit", "repository": "app", "events": ["referenceUpdated", "referenceUpdated"]},
     "spec.triggers[0].events", "each event is listed once"),
])
def test_a_bad_trigger_field_is_reported_in_words_at_its_path(
    trigger: dict[str, Any], path: str, message: str,
) -> None:
    assert problems_of(trigger) == [Problem(path, message)]


def test_a_deleted_reference_is_no_event_a_trigger_may_ask_for() -> None:
    [problem] = problems_of({"type": "codecommit", "repository": "app", "events": ["referenceDeleted"]})
    assert problem.path == "spec.triggers[0].events[0]"
    assert "'referenceCreated' or 'referenceUpdated'" in problem.message


def test_a_workflow_has_at_most_twenty_triggers() -> None:
    [problem] = problems_of(*[{"type": "s3", "bucket": f"b{i}"} for i in range(21)])
    assert problem.path == "spec.triggers"
    assert "at most 20 items" in problem.message


# --- a schedule's identity (the key of its mark) ------------------------------------------

def test_a_schedule_is_known_by_its_cron_wherever_it_stands_and_however_it_is_spaced() -> None:
    first = workflow({"type": "schedule", "cron": "0 3 * * *"}, {"type": "schedule", "cron": "0 15 * * *"})
    moved = workflow({"type": "api"}, {"type": "schedule", "cron": " 0 15 * *  * "},
                     {"type": "schedule", "cron": "0 3 * * *"})
    assert list(schedules_of(first)) == ['{"cron":"0 3 * * *"}', '{"cron":"0 15 * * *"}']
    assert set(schedules_of(moved)) == set(schedules_of(first))


def test_identical_schedules_of_a_workflow_are_one() -> None:
    twice = workflow({"type": "schedule", "cron": "0 3 * * *"}, {"type": "schedule", "cron": "0  3 * * *"})
    assert list(schedules_of(twice)) == ['{"cron":"0 3 * * *"}']


def test_every_field_of_a_schedule_but_its_type_is_part_of_its_identity() -> None:
    fields = set(ScheduleTrigger.model_fields) - {"type"}
    assert set(json.loads(schedule_key(ScheduleTrigger(type="schedule", cron="0 3 * * *")))) == fields


def test_a_very_long_schedule_is_known_by_a_digest_that_fits_any_store_key() -> None:
    minutes = ",".join(str(m) for m in range(60))
    long = ScheduleTrigger(type="schedule", cron=f"{minutes} {','.join(str(h) for h in range(24))} * * *")
    key = schedule_key(long)
    assert key.startswith("sha256:") and len(key) <= MAX_SCHEDULE_KEY_CHARS
    assert key == schedule_key(ScheduleTrigger(type="schedule", cron=f"  {long.cron}"))
