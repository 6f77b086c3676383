"""The runs, logs and webhook routes, as a Blueprint that app.py registers.

Wiring only: each route checks its path ids, reads its query values or body, calls a
service (run_service, log_service, webhooks) and shapes the answer with run_views; the
project's errors become HTTP answers in `answer`.
"""

from __future__ import annotations

import json
from typing import Any

from chalice.app import Blueprint, MultiDict, Response

from chalicelib.api.context import current
from chalicelib.api.errors import JSON_HEADERS, answer
from chalicelib.api.requests import (
    body_bytes,
    int_param,
    job_id,
    json_object,
    name_id,
    namespace_id,
)
from chalicelib.api.requests import run_id as valid_run_id
from chalicelib.engine.instance_keys import instance_key, split_instance_key
from chalicelib.services.instance_service import (
    DEFAULT_INSTANCES_PAGE,
    MAX_INSTANCES_PAGE,
    InstanceQuery,
)
from chalicelib.services.log_service import (
    DEFAULT_PAGE_LINES,
    MAX_PAGE_LINES,
    LogRequest,
    LogService,
    parse_attempt,
    parse_seconds,
)
from chalicelib.services.run_service import (
    DEFAULT_PAGE,
    MAX_PAGE,
    RunQuery,
    RunService,
    params_from_request,
    rerun_scope_from_request,
)
from chalicelib.services.run_views import run_summary
from chalicelib.services.webhooks import WebhookDelivery, WebhookReceiver

# Register it in one app only: Chalice consumes a blueprint's route options (methods,
# content types) when it registers it, so a second app would get GET-only routes.
runs = Blueprint(__name__)

NS = "/api/namespaces/{namespace}"
# GitHub sends JSON, or form-encoded when so configured (refused as "not JSON", not 415).
WEBHOOK_CONTENT_TYPES = [
    "application/json", "application/x-www-form-urlencoded", "text/plain", "application/octet-stream",
]


def _run_service() -> RunService:
    context = current()
    return RunService(context.store, context.dispatcher)


def _raw_body() -> bytes:
    raw = runs.current_request.raw_body
    return body_bytes(raw.encode("utf-8") if isinstance(raw, str) else raw)


def _query() -> dict[str, str]:
    return dict(runs.current_request.query_params or {})


def _query_list(key: str) -> list[str]:
    params: MultiDict | None = runs.current_request.query_params
    return list(params.getlist(key)) if params is not None and key in params else []


def _json(body: Any, status: int) -> Response:
    return Response(body=json.dumps(body), status_code=status, headers=JSON_HEADERS)


@runs.route(NS + "/workflows/{name}/runs", methods=["POST"])
def start_run(namespace: str, name: str) -> Response:
    def work() -> dict[str, Any]:
        raw = _raw_body()
        params = params_from_request(json_object(raw) if raw.strip() else {})
        run = _run_service().start(namespace_id(namespace), name_id(name), params)
        return run_summary(run)

    return answer(work, 201)


@runs.route(NS + "/runs", methods=["GET"])
def list_runs(namespace: str) -> Response:
    def work() -> dict[str, Any]:
        query = _query()
        workflow = query.get("workflow") or None
        page = _run_service().list_runs(namespace_id(namespace), RunQuery(
            workflow=name_id(workflow) if workflow is not None else None,
            statuses=_query_list("status"),
            created_after=query.get("created_after"),
            created_before=query.get("created_before"),
            limit=int_param(query, "limit", DEFAULT_PAGE, 1, MAX_PAGE),
            cursor=query.get("cursor") or None,
        ))
        return {"runs": [run_summary(run) for run in page.runs], "next_cursor": page.next_cursor}

    return answer(work)


@runs.route(NS + "/runs/{run_id}", methods=["GET"])
def get_run(namespace: str, run_id: str) -> Response:
    return answer(lambda: _run_service().detail(namespace_id(namespace), valid_run_id(run_id)))


@runs.route(NS + "/runs/{run_id}/cancel", methods=["POST"])
def cancel_run(namespace: str, run_id: str) -> Response:
    return answer(
        lambda: run_summary(_run_service().cancel(namespace_id(namespace), valid_run_id(run_id))), 202
    )


@runs.route(NS + "/runs/{run_id}/rerun", methods=["POST"])
def rerun(namespace: str, run_id: str) -> Response:
    def work() -> dict[str, Any]:
        raw = _raw_body()
        scope = rerun_scope_from_request(json_object(raw) if raw.strip() else {})
        return run_summary(_run_service().rerun(namespace_id(namespace), valid_run_id(run_id), scope))

    return answer(work, 201)


@runs.route(NS + "/runs/{run_id}/jobs/{job}/instances", methods=["GET"])
def job_instances(namespace: str, run_id: str, job: str) -> Response:
    def work() -> dict[str, Any]:
        query = _query()
        return _run_service().instances(namespace_id(namespace), valid_run_id(run_id), job_id(job),
                                        InstanceQuery(
            states=_query_list("state"),
            cursor=query.get("cursor") or None,
            limit=int_param(query, "limit", DEFAULT_INSTANCES_PAGE, 1, MAX_INSTANCES_PAGE),
        ))

    return answer(work)


def _job_key(value: str) -> str:
    """A job name, or an instance key (`test.3`): attempts are kept under either."""
    instance = split_instance_key(value or "")
    if instance is not None and instance_key(job_id(instance.job), instance.index) == value:
        return value
    return job_id(value)


@runs.route(NS + "/runs/{run_id}/jobs/{job}/attempts/{attempt}/logs", methods=["GET"])
def attempt_logs(namespace: str, run_id: str, job: str, attempt: str) -> Response:
    def work() -> dict[str, Any]:
        query = _query()
        request = LogRequest(
            namespace=namespace_id(namespace), run_id=valid_run_id(run_id), job=_job_key(job),
            attempt=parse_attempt(attempt),
            after=int_param(query, "after", 0, 0, 2**62),
            limit=int_param(query, "limit", DEFAULT_PAGE_LINES, 1, MAX_PAGE_LINES),
            follow=parse_seconds("follow", query.get("follow")),
            cursor=query.get("cursor") or "",
        )
        context = current()
        return LogService(context.store, context.logs, sleep=context.sleep).read(request).as_document()

    return answer(work)


@runs.route(NS + "/workflows/{name}/webhook", methods=["POST"], content_types=WEBHOOK_CONTENT_TYPES)
def webhook(namespace: str, name: str) -> Response:
    def work() -> Response:
        delivery = WebhookDelivery.from_request(_raw_body(), dict(runs.current_request.headers))
        receiver = WebhookReceiver(current().store, _run_service())
        outcome = receiver.receive(namespace_id(namespace), name_id(name), delivery)
        if outcome.run is None:
            return _json({"duplicate": True}, 200)
        return _json(run_summary(outcome.run), 202)

    return answer(work)

