"""Reading the EventBridge events that start runs (chalicelib/cloud/trigger_events.py): S3
"Object Created" with its URL-encoded key, CodeCommit "Repository State Change", and
everything that is not one of them."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from chalicelib.cloud.trigger_events import decoded_key, object_created, reference_changed
from chalicelib.domain.triggers import ObjectCreated, ReferenceChanged, ReferenceEvent
from chalicelib.errors import InvalidRequest


def s3_event(key: str = "builds/app.zip", **detail: Any) -> dict[str, Any]:
    """An "Object Created" event as the S3 user guide shows it (EventBridge event message
    structure), with its key as S3 encodes keys."""
    return {
        "version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created", "source": "aws.s3", "account": "111122223333",
        "time": "2021-11-12T00:00:00Z", "region": "ca-central-1",
        "resources": ["arn:aws:s3:::uploads"],
        "detail": {"version": "0", "bucket": {"name": "uploads"},
                   "object": {"key": key, "size": 5, "etag": "b1946ac92492d2347c6235b4d2611184",
                              "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
                              "sequencer": "617f08299329d189"},
                   "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012",
                   "source-ip-address": "1.2.3.4", "reason": "PutObject", **detail},
    }


def codecommit_event(event: str = "referenceUpdated", **detail: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "callerUserArn": "arn:aws:iam::123456789012:user/ana", "commitId": "5e3c1f0a9d",
        "event": event, "oldCommitId": "1a2b3c4d", "referenceFullName": "refs/heads/main",
        "referenceName": "main", "referenceType": "branch",
        "repositoryId": "12345678-1234-5678-abcd-12345678abcd", "repositoryName": "app",
        **detail,
    }
    return {
        "version": "0", "id": "01234567-0123-0123-0123-012345678901",
        "detail-type": "CodeCommit Repository State Change", "source": "aws.codecommit",
        "account": "123456789012", "time": "2026-03-01T12:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:codecommit:us-east-1:123456789012:app"],
        "detail": {k: v for k, v in body.items() if v is not None},
    }


# --- S3 ---------------------------------------------------------------------------------

def test_an_object_created_event_reads_into_its_bucket_key_size_etag_and_id() -> None:
    assert object_created(s3_event()) == ObjectCreated(
        event_id="17793124-05d4-b198-2fde-7ededc63b103", bucket="uploads", key="builds/app.zip",
        size=5, etag="b1946ac92492d2347c6235b4d2611184")


@pytest.mark.parametrize("encoded, key", [
    ("my+docs/report+2026.pdf", "my docs/report 2026.pdf"),  # a space arrives as '+'
    ("builds/c%2B%2B-1.0.tar.gz", "builds/c++-1.0.tar.gz"),  # a literal '+' as %2B
    ("caf%C3%A9/%E6%97%A5%E6%9C%AC.txt", "café/日本.txt"),  # Unicode as its UTF-8 bytes
    ("a+b%2Bc%20d/%25", "a b+c d/%"),  # all at once, and a literal '%'
    ("plain/key.txt", "plain/key.txt"),
])
def test_the_key_is_decoded_as_s3_encodes_it(encoded: str, key: str) -> None:
    assert object_created(s3_event(encoded)).key == key


def test_a_key_whose_escapes_are_not_utf8_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="not URL-encoded UTF-8"):
        decoded_key("bad%FF%FE")


def test_an_etag_written_as_moto_writes_it_is_read_too() -> None:
    event = s3_event()
    event["detail"]["object"]["eTag"] = event["detail"]["object"].pop("etag")
    assert object_created(event).etag == "b1946ac92492d2347c6235b4d2611184"


# --- CodeCommit -------------------------------------------------------------------------

def test_a_push_reads_into_its_repository_branch_commit_event_and_id() -> None:
    assert reference_changed(codecommit_event()) == ReferenceChanged(
        event_id="01234567-0123-0123-0123-012345678901", repository="app",
        event=ReferenceEvent.UPDATED, reference_type="branch", name="main", commit="5e3c1f0a9d")


def test_a_deleted_branch_reads_without_a_commit_and_starts_nothing() -> None:
    deleted = reference_changed(codecommit_event("referenceDeleted", commitId=None))
    assert (deleted.event, deleted.commit, deleted.can_start_runs) == (
        ReferenceEvent.DELETED, "", False)


def test_a_tag_reads_as_a_tag_and_starts_nothing() -> None:
    tag = reference_changed(codecommit_event("referenceCreated", referenceType="tag",
                                             referenceName="v1.0", referenceFullName="refs/tags/v1.0"))
    assert (tag.reference_type, tag.name, tag.can_start_runs) == ("tag", "v1.0", False)


# --- what is not one of them ------------------------------------------------------------

def without(event: dict[str, Any], *path: str) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    node = changed
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return changed


def test_an_event_from_another_source_is_refused_saying_whose_it_is() -> None:
    with pytest.raises(InvalidRequest, match=re.escape(
            "expected an event from aws.s3, got one from 'aws.codecommit'")):
        object_created(codecommit_event())
    with pytest.raises(InvalidRequest, match=re.escape(
            "expected an event from aws.codecommit, got one from 'aws.s3'")):
        reference_changed(s3_event())


def test_another_kind_of_s3_event_is_refused() -> None:
    with pytest.raises(InvalidRequest, match=re.escape(
            "expected the detail-type 'Object Created' from aws.s3, got 'Object Deleted'")):
        object_created({**s3_event(), "detail-type": "Object Deleted"})


@pytest.mark.parametrize("path, message", [
    (("id",), "has an id"),
    (("detail",), "has a detail object"),
    (("detail", "bucket"), "no detail.bucket object"),
    (("detail", "bucket", "name"), r"no detail.bucket.name \(a non-empty string\)"),
    (("detail", "object"), "no detail.object object"),
    (("detail", "object", "key"), r"no detail.object.key"),
    (("detail", "object", "size"), "size in bytes"),
    (("detail", "object", "etag"), "ETag"),
])
def test_an_s3_event_missing_a_field_is_refused_naming_it(path: tuple[str, ...], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        object_created(without(s3_event(), *path))


@pytest.mark.parametrize("path, message", [
    (("id",), "has an id"),
    (("detail", "event"), "detail.event"),
    (("detail", "repositoryName"), "detail.repositoryName"),
    (("detail", "referenceType"), "detail.referenceType"),
    (("detail", "referenceName"), "detail.referenceName"),
    (("detail", "commitId"), "names its commit"),
])
def test_a_codecommit_event_missing_a_field_is_refused_naming_it(
    path: tuple[str, ...], message: str,
) -> None:
    with pytest.raises(InvalidRequest, match=message):
        reference_changed(without(codecommit_event(), *path))


def test_an_unknown_kind_of_reference_change_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="got 'referenceRenamed'"):
        reference_changed(codecommit_event("referenceRenamed"))


def mistyped_size() -> dict[str, Any]:
    event = s3_event()
    event["detail"]["object"]["size"] = "5"
    return event


@pytest.mark.parametrize("read, event", [
    (object_created, {**s3_event(), "id": 7}),
    (object_created, s3_event(bucket="uploads")),  # a string where an object belongs
    (object_created, mistyped_size()),
    (object_created, "not an event"),
    (reference_changed, codecommit_event(repositoryName=7)),
    (reference_changed, codecommit_event(commitId="")),
], ids=["id", "bucket", "size", "not-a-mapping", "repository", "commit"])
def test_mistyped_fields_are_refused_not_crashed_on(read: Any, event: Any) -> None:
    with pytest.raises(InvalidRequest):
        read(event)
