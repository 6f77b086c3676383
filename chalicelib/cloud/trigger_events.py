"""The EventBridge events that start runs, read into the plain values of `domain.triggers`.

- S3 "Object Created" (source `aws.s3`): `id`, `detail.bucket.name`, `detail.object.key`,
  `.size`, `.etag`. The key is read as S3's event notifications write it, URL-encoded the
  way an HTML form is (a space as `+`, a literal `+` as `%2B`, other bytes of the UTF-8 key
  as `%XX`), and decoded here, so `trigger.key` is the object's key itself. AWS's pages on
  the EventBridge shape show only plain keys; AWS's own Lambda library (Powertools for AWS
  Lambda, `S3EventBridgeNotificationObject.key`) decodes this field with `unquote_plus`,
  as S3's notification format documents for its keys, and so does this module.
- CodeCommit "CodeCommit Repository State Change" (source `aws.codecommit`): `id`,
  `detail.event` (referenceCreated | referenceUpdated | referenceDeleted),
  `.repositoryName`, `.referenceType` (branch | tag), `.referenceName`, `.commitId`
  (absent once a reference is deleted).

What cannot be read (another source or type, a missing or mistyped field) raises
`InvalidRequest` saying what was wrong, never a KeyError: the handler drops such an
event with a log line, since delivering it again would fail the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from chalicelib.domain.triggers import ObjectCreated, ReferenceChanged, ReferenceEvent
from chalicelib.errors import InvalidRequest

S3_SOURCE = "aws.s3"
OBJECT_CREATED = "Object Created"
CODECOMMIT_SOURCE = "aws.codecommit"
REPOSITORY_CHANGED = "CodeCommit Repository State Change"


def object_created(event: Mapping[str, Any]) -> ObjectCreated:
    detail = _detail(event, S3_SOURCE, OBJECT_CREATED)
    bucket = _mapping(detail, "bucket", "detail")
    item = _mapping(detail, "object", "detail")
    size = item.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise InvalidRequest(f"an S3 Object Created event gives the object's size in bytes "
                             f"(detail.object.size); got {size!r}")
    # AWS writes `etag`; moto writes `eTag`.
    etag = item.get("etag", item.get("eTag"))
    if not isinstance(etag, str):
        raise InvalidRequest("an S3 Object Created event gives the object's ETag (detail.object.etag)")
    return ObjectCreated(
        event_id=_event_id(event),
        bucket=_text(bucket, "name", "detail.bucket"),
        key=decoded_key(_text(item, "key", "detail.object")),
        size=size,
        etag=etag,
    )


def decoded_key(raw: str) -> str:
    """An object key as S3's notifications encode it, decoded; InvalidRequest when its
    escapes are not UTF-8."""
    try:
        return unquote_plus(raw, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"the object key {raw[:80]!r} is not URL-encoded UTF-8") from exc


def reference_changed(event: Mapping[str, Any]) -> ReferenceChanged:
    detail = _detail(event, CODECOMMIT_SOURCE, REPOSITORY_CHANGED)
    change = detail.get("event")
    try:
        kind = ReferenceEvent(str(change))
    except ValueError as exc:
        known = ", ".join(e.value for e in ReferenceEvent)
        raise InvalidRequest(f"a CodeCommit state change is one of {known} (detail.event);"
                             f" got {change!r}") from exc
    commit = detail.get("commitId")
    if kind is not ReferenceEvent.DELETED and not (isinstance(commit, str) and commit):
        raise InvalidRequest("a created or updated reference names its commit (detail.commitId)")
    return ReferenceChanged(
        event_id=_event_id(event),
        repository=_text(detail, "repositoryName", "detail"),
        event=kind,
        reference_type=_text(detail, "referenceType", "detail"),
        name=_text(detail, "referenceName", "detail"),
        commit=commit if isinstance(commit, str) else "",
    )


def _detail(event: Mapping[str, Any], source: str, detail_type: str) -> Mapping[str, Any]:
    if not isinstance(event, Mapping):
        raise InvalidRequest("an EventBridge event is a JSON object")
    if event.get("source") != source:
        raise InvalidRequest(f"expected an event from {source}, got one from {event.get('source')!r}")
    if event.get("detail-type") != detail_type:
        raise InvalidRequest(f"expected the detail-type {detail_type!r} from {source},"
                             f" got {event.get('detail-type')!r}")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise InvalidRequest(f"an event from {source} has a detail object")
    return detail


def _event_id(event: Mapping[str, Any]) -> str:
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id.strip():
        raise InvalidRequest("an EventBridge event has an id")
    return event_id.strip()


def _mapping(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = parent.get(key)
    if not isinstance(value, Mapping):
        raise InvalidRequest(f"the event has no {where}.{key} object")
    return value


def _text(parent: Mapping[str, Any], key: str, where: str) -> str:
    value = parent.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"the event has no {where}.{key} (a non-empty string)")
    return value
