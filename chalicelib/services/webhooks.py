"""Signed webhooks (GitHub-compatible) that start a run of a workflow.

A delivery is accepted only when `X-Hub-Signature-256` is `sha256=<hex>` of the HMAC-SHA256
of the raw body under the workflow's webhook secret (compared in constant time); anything
else is Unauthorized and starts nothing. The workflow must declare a `webhook` trigger
(`spec.triggers`): the secret alone does not open a workflow to webhooks it never asked
for. Each delivery starts at most one run: its id (`X-GitHub-Delivery`, or
`X-ContainerOps-Delivery`) is claimed in the store before the run is recorded, and a
delivery without an id is keyed by the SHA-256 of its body, so replaying the same signed
body starts nothing either. Every check that can refuse the delivery (disabled workflow,
params) runs before the claim, so a refused delivery can be sent again once fixed.

The run's trigger is the JSON body's fields plus `type: webhook` and `event` (the
`X-GitHub-Event` header), which the body cannot override. The secret is never part of an
answer, an error or a log line.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.engine.records import RunRecord
from chalicelib.errors import Conflict, InvalidRequest, Unauthorized
from chalicelib.services.run_service import RunService
from chalicelib.store.base import Store

SIGNATURE_HEADER = "x-hub-signature-256"
DELIVERY_HEADERS = ("x-github-delivery", "x-containerops-delivery")
EVENT_HEADER = "x-github-event"
SIGNATURE_PREFIX = "sha256="
MAX_DELIVERY_ID = 200


@dataclass(frozen=True)
class WebhookDelivery:
    body: bytes
    signature: str | None
    delivery_id: str | None
    event: str

    @classmethod
    def from_request(cls, body: bytes, headers: Mapping[str, str]) -> WebhookDelivery:
        """Header names are matched whatever their case."""
        lowered = {name.lower(): value for name, value in headers.items()}
        delivery = next((lowered[h] for h in DELIVERY_HEADERS if lowered.get(h)), None)
        return cls(body, lowered.get(SIGNATURE_HEADER), delivery, lowered.get(EVENT_HEADER, ""))


@dataclass(frozen=True)
class WebhookOutcome:
    run: RunRecord | None  # None: the delivery was seen before, nothing started

    @property
    def duplicate(self) -> bool:
        return self.run is None


def signature_of(body: bytes, secret: str) -> str:
    """The `X-Hub-Signature-256` value a sender computes (for tests and clients)."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookReceiver:
    def __init__(self, store: Store, runs: RunService, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.runs = runs
        self._clock = clock

    def receive(self, namespace: str, name: str, delivery: WebhookDelivery) -> WebhookOutcome:
        settings = self.store.get_workflow_settings(namespace, name)
        _verify(delivery, settings.webhook_secret)
        fields = _json_fields(delivery.body)
        trigger = {**fields, "type": "webhook", "event": delivery.event}
        new = self.runs.plan_start(namespace, name, {}, trigger)
        if not any(t.type == "webhook" for t in new.workflow.spec.triggers):
            raise Conflict(
                f"workflow {namespace}/{name} does not accept webhooks: "
                "add {type: webhook} to spec.triggers"
            )
        if not self.store.claim_event(_claim_key(namespace, name, delivery), self._clock()):
            return WebhookOutcome(None)
        return WebhookOutcome(self.runs.launch(new))


def _verify(delivery: WebhookDelivery, secret: str) -> None:
    given = (delivery.signature or "").strip()
    if not given:
        raise Unauthorized(f"the {SIGNATURE_HEADER} header is missing")
    if not given.lower().startswith(SIGNATURE_PREFIX):
        raise Unauthorized(f"the {SIGNATURE_HEADER} header must be sha256=<hex digest>")
    try:
        given_digest = bytes.fromhex(given[len(SIGNATURE_PREFIX):])
    except ValueError as exc:
        raise Unauthorized(f"the {SIGNATURE_HEADER} header must be sha256=<hex digest>") from exc
    expected = hmac.new(secret.encode(), delivery.body, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, given_digest):
        raise Unauthorized("the webhook signature does not match the body")


def _claim_key(namespace: str, name: str, delivery: WebhookDelivery) -> str:
    if delivery.delivery_id is not None:
        delivery_id = delivery.delivery_id.strip()
        if len(delivery_id) > MAX_DELIVERY_ID or not delivery_id.isprintable():
            raise InvalidRequest(f"the delivery id must be at most {MAX_DELIVERY_ID} printable characters")
        return f"webhook:{namespace}/{name}:{delivery_id}"
    return f"webhook:{namespace}/{name}:body-sha256:{hashlib.sha256(delivery.body).hexdigest()}"


def _json_fields(body: bytes) -> dict[str, Any]:
    """The body's fields; an empty body has none. Anything but a JSON object is refused."""
    if not body.strip():
        return {}
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRequest(f"the webhook body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidRequest("the webhook body must be a JSON object")
    return value
