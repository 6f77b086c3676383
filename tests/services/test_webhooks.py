"""WebhookReceiver on a real SQLite file with a recording dispatcher."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.models import Workflow
from chalicelib.errors import Conflict, ContainerOpsError, InvalidRequest, NotFound, Unauthorized
from chalicelib.services.dispatch import RecordingDispatcher
from chalicelib.services.run_service import RunService
from chalicelib.services.webhooks import WebhookDelivery, WebhookReceiver, signature_of
from chalicelib.store.sqlite import SqliteStore
from tests.builders import single_job_doc

WEBHOOK_TRIGGERS = [{"type": "api"}, {"type": "webhook"}]
PUSH = json.dumps({"ref": "refs/heads/main", "repository": {"full_name": "acme/app"}}).encode()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "store.db") as store:
        store.save_workflow(Workflow.model_validate(single_job_doc(spec__triggers=WEBHOOK_TRIGGERS)))
        yield store


@pytest.fixture
def secret(store: SqliteStore) -> str:
    return store.get_workflow_settings("demo", "ci").webhook_secret


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    return RecordingDispatcher()


@pytest.fixture
def receiver(store: SqliteStore, dispatcher: RecordingDispatcher) -> WebhookReceiver:
    return WebhookReceiver(store, RunService(store, dispatcher), clock=lambda: 1_700_000_000.0)


def delivery(body: bytes, signature: str | None, **headers: str) -> WebhookDelivery:
    named = {"X-Hub-Signature-256": signature} if signature is not None else {}
    return WebhookDelivery.from_request(body, {**named, **headers})


def started(store: SqliteStore) -> list[dict[str, Any]]:
    return [run.trigger for run in store.list_runs().runs]


def test_a_valid_webhook_starts_a_run_whose_trigger_holds_the_body_fields(
    receiver: WebhookReceiver, store: SqliteStore, dispatcher: RecordingDispatcher, secret: str
) -> None:
    outcome = receiver.receive("demo", "ci", delivery(
        PUSH, signature_of(PUSH, secret), **{"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1"}))
    assert outcome.run is not None and not outcome.duplicate
    assert outcome.run.trigger == {"type": "webhook", "event": "push", "ref": "refs/heads/main",
                                   "repository": {"full_name": "acme/app"}}
    assert dispatcher.submitted == [outcome.run.id]


def test_header_names_are_matched_whatever_their_case(
    receiver: WebhookReceiver, store: SqliteStore, secret: str
) -> None:
    headers = {"x-hub-SIGNATURE-256": signature_of(PUSH, secret), "X-GITHUB-EVENT": "push"}
    outcome = receiver.receive("demo", "ci", WebhookDelivery.from_request(PUSH, headers))
    assert outcome.run is not None and outcome.run.trigger["event"] == "push"


def test_the_body_cannot_pass_for_another_trigger_type(
    receiver: WebhookReceiver, secret: str
) -> None:
    body = b'{"type": "schedule", "event": "fake"}'
    outcome = receiver.receive("demo", "ci", delivery(body, signature_of(body, secret)))
    assert outcome.run is not None and outcome.run.trigger == {"type": "webhook", "event": ""}


@pytest.mark.parametrize("signature", [
    None, "", "sha256=", "sha1=abcdef", "sha256=not-hex", "sha256=00ff",
    signature_of(PUSH, "a-guessed-secret"), signature_of(PUSH + b" ", "x"), "sha256=é",
])
def test_a_missing_garbled_or_forged_signature_is_refused_and_starts_nothing(
    receiver: WebhookReceiver, store: SqliteStore, dispatcher: RecordingDispatcher,
    signature: str | None,
) -> None:
    with pytest.raises(Unauthorized):
        receiver.receive("demo", "ci", delivery(PUSH, signature, **{"X-GitHub-Delivery": "d-1"}))
    assert started(store) == [] and dispatcher.submitted == []
    assert store.claim_event("webhook:demo/ci:d-1", 0.0), "a refused delivery claims nothing"


def test_a_signature_of_another_body_is_refused(receiver: WebhookReceiver, secret: str) -> None:
    with pytest.raises(Unauthorized):
        receiver.receive("demo", "ci", delivery(PUSH + b"\n", signature_of(PUSH, secret)))


def test_a_replayed_delivery_is_a_duplicate_and_starts_no_second_run(
    receiver: WebhookReceiver, store: SqliteStore, dispatcher: RecordingDispatcher, secret: str
) -> None:
    signed = delivery(PUSH, signature_of(PUSH, secret), **{"X-GitHub-Delivery": "d-1"})
    assert receiver.receive("demo", "ci", signed).run is not None
    again = receiver.receive("demo", "ci", signed)
    assert again.duplicate and len(started(store)) == 1 and len(dispatcher.submitted) == 1


def test_the_containerops_delivery_header_is_a_delivery_id_too(
    receiver: WebhookReceiver, store: SqliteStore, secret: str
) -> None:
    signed = delivery(PUSH, signature_of(PUSH, secret), **{"X-ContainerOps-Delivery": "mine-1"})
    receiver.receive("demo", "ci", signed)
    assert receiver.receive("demo", "ci", signed).duplicate


def test_without_a_delivery_id_the_same_body_is_a_duplicate_and_another_body_is_not(
    receiver: WebhookReceiver, store: SqliteStore, secret: str
) -> None:
    other = b'{"ref": "refs/heads/dev"}'
    assert receiver.receive("demo", "ci", delivery(PUSH, signature_of(PUSH, secret))).run
    assert receiver.receive("demo", "ci", delivery(PUSH, signature_of(PUSH, secret))).duplicate
    assert receiver.receive("demo", "ci", delivery(other, signature_of(other, secret))).run
    assert len(started(store)) == 2


def test_distinct_deliveries_of_the_same_body_each_start_a_run(
    receiver: WebhookReceiver, store: SqliteStore, secret: str
) -> None:
    for delivery_id in ("d-1", "d-2"):
        receiver.receive("demo", "ci", delivery(
            PUSH, signature_of(PUSH, secret), **{"X-GitHub-Delivery": delivery_id}))
    assert len(started(store)) == 2


def test_a_disabled_workflow_refuses_the_delivery_without_claiming_it(
    receiver: WebhookReceiver, store: SqliteStore, secret: str
) -> None:
    signed = delivery(PUSH, signature_of(PUSH, secret), **{"X-GitHub-Delivery": "d-1"})
    store.set_workflow_enabled("demo", "ci", False)
    with pytest.raises(Conflict, match="workflow demo/ci is disabled"):
        receiver.receive("demo", "ci", signed)
    assert started(store) == []
    store.set_workflow_enabled("demo", "ci", True)
    assert receiver.receive("demo", "ci", signed).run is not None, "redelivered once enabled"


def test_a_workflow_that_declares_no_webhook_trigger_refuses_webhooks(
    store: SqliteStore, receiver: WebhookReceiver
) -> None:
    document = single_job_doc()
    document["metadata"]["name"] = "manual"
    store.save_workflow(Workflow.model_validate(document))
    secret = store.get_workflow_settings("demo", "manual").webhook_secret
    with pytest.raises(Conflict, match="does not accept webhooks"):
        receiver.receive("demo", "manual", delivery(PUSH, signature_of(PUSH, secret)))
    assert started(store) == []


@pytest.mark.parametrize("body", [b"payload=%7B%7D", b"[1, 2]", b"\xff\xfe", b'"text"'])
def test_a_signed_body_that_is_not_a_json_object_is_an_invalid_request(
    receiver: WebhookReceiver, store: SqliteStore, secret: str, body: bytes
) -> None:
    with pytest.raises(InvalidRequest):
        receiver.receive("demo", "ci", delivery(body, signature_of(body, secret)))
    assert started(store) == []


def test_a_signed_empty_body_starts_a_run_with_only_type_and_event(
    receiver: WebhookReceiver, secret: str
) -> None:
    outcome = receiver.receive("demo", "ci", delivery(b"", signature_of(b"", secret)))
    assert outcome.run is not None and outcome.run.trigger == {"type": "webhook", "event": ""}


def test_an_unknown_workflow_is_not_found(receiver: WebhookReceiver) -> None:
    with pytest.raises(NotFound):
        receiver.receive("demo", "nope", delivery(PUSH, "sha256=00"))


def test_no_refusal_shows_the_secret(receiver: WebhookReceiver, store: SqliteStore, secret: str) -> None:
    store.set_workflow_enabled("demo", "ci", False)
    messages = []
    for attempt in (delivery(PUSH, "sha256=00"), delivery(PUSH, signature_of(PUSH, secret)),
                    delivery(b"{", signature_of(b"{", secret))):
        with pytest.raises(ContainerOpsError) as caught:
            receiver.receive("demo", "ci", attempt)
        messages.append(f"{caught.value!s} {caught.value!r}")
    assert all(secret not in message for message in messages)
