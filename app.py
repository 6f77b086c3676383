"""The ContainerOps API as a Chalice app: the same code runs locally and on AWS Lambda.

Routes are wiring only: parse the request, call a service from chalicelib, map errors
(`answer`). The route table is `chalicelib.api.openapi.ROUTES`; the components registry
and workflows live here, runs, logs and webhooks in the `run_routes` blueprint.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Any

from chalice.app import AuthRequest, AuthResponse, Chalice, CloudWatchEvent, Rate, Request, Response

from chalicelib.api.authorizer import GATEWAY_CACHE_SECONDS, token_authorizer
from chalicelib.api.context import configure, configure_lazily, current
from chalicelib.api.errors import answer
from chalicelib.api.gateway_access import guard_routes
from chalicelib.api.openapi import openapi_document
from chalicelib.api.requests import int_param, json_object, name_id, namespace_id, version_id
from chalicelib.cloud import lambda_events
from chalicelib.config import Backend, backend, designer_origin
from chalicelib.errors import InvalidRequest
from chalicelib.services.namespaces import namespace_list
from chalicelib.services.registry import ComponentRegistry
from chalicelib.services.workflow_service import WorkflowService

if TYPE_CHECKING:
    from chalicelib.aws.bootstrap import AwsServices

NS = "/api/namespaces/{namespace}"
MAX_WORKFLOW_VERSION = 2**31 - 1


class ThreadSafeChalice(Chalice):
    """Chalice keeps the request it is handling on the app object. Lambda handles one
    request per process at a time, but the local server handles each request in its own
    thread, so here the request (and the Lambda context) is kept per thread."""

    def __init__(self, app_name: str) -> None:
        self._per_thread = threading.local()
        super().__init__(app_name=app_name)

    @property
    def current_request(self) -> Request | None:
        request: Request | None = getattr(self._per_thread, "request", None)
        return request

    @current_request.setter
    def current_request(self, request: Request | None) -> None:
        self._per_thread.request = request

    @property
    def lambda_context(self) -> Any:
        return getattr(self._per_thread, "lambda_context", None)

    @lambda_context.setter
    def lambda_context(self, context: Any) -> None:
        self._per_thread.lambda_context = context


LAMBDA_FUNCTION_VARIABLE = "AWS_LAMBDA_FUNCTION_NAME"  # set by the Lambda runtime, nowhere else
app = ThreadSafeChalice(app_name="containerops")
if os.environ.get(LAMBDA_FUNCTION_VARIABLE):
    # Chalice keeps its logger, the parent of every containerops.* logger, at ERROR on Lambda
    # unless in debug mode: the handlers' warnings (an event dropped, a run that could not
    # start, a key that could not be read) would never reach the function's log group.
    app.log.setLevel(logging.INFO)


# --- aws mode --------------------------------------------------------------------------------
# The deployed functions (CONTAINEROPS_BACKEND=aws) build their adapters once per Lambda
# container, at their first event (not at import: `chalice package` imports this module with
# the stage's variables but not the stack's); `containerops serve` configures the API itself.

_aws: AwsServices | None = None


def aws() -> AwsServices:
    global _aws
    if _aws is None:
        from chalicelib.aws.bootstrap import AwsServices

        _aws = AwsServices.from_environment()
    return _aws


def use_aws(services: AwsServices) -> None:
    """Serve and handle with these aws-mode services (the deployed wiring, or a sandbox's)."""
    global _aws
    _aws = services
    configure(services.api_context())


if backend() is Backend.AWS:
    configure_lazily(lambda: aws().api_context())


@app.route("/api/health", methods=["GET"])
def health() -> dict[str, Any]:
    return {"status": "ok", "service": "containerops"}


@app.route("/api/openapi.json", methods=["GET"])
def openapi() -> Response:
    return answer(openapi_document)


# --- namespaces ----------------------------------------------------------------------------

@app.route("/api/namespaces", methods=["GET"])
def list_namespaces() -> Response:
    return answer(lambda: namespace_list(current().store, _query().get("holding")))


# --- components (the registry) -------------------------------------------------------------

@app.route(f"{NS}/components", methods=["GET"])
def list_components(namespace: str) -> Response:
    def work() -> dict[str, Any]:
        query = _query()
        name = query.get("name")
        return _registry().list_components(
            namespace_id(namespace), name_id(name) if name is not None else None,
            include_deprecated=_flag(query, "include_deprecated", default=True),
        )
    return answer(work)


@app.route(f"{NS}/components", methods=["POST"])
def publish_component(namespace: str) -> Response:
    return answer(lambda: _registry().publish(namespace_id(namespace), _body()), 201)


@app.route(f"{NS}/components/{{name}}/versions", methods=["GET"])
def component_versions(namespace: str, name: str) -> Response:
    return answer(lambda: _registry().versions(namespace_id(namespace), name_id(name)))


@app.route(f"{NS}/components/{{name}}/versions/{{version}}", methods=["GET"])
def get_component(namespace: str, name: str, version: str) -> Response:
    return answer(lambda: _registry().get(namespace_id(namespace), name_id(name), version_id(version)))


@app.route(f"{NS}/components/{{name}}/versions/{{version}}/deprecated", methods=["PUT"])
def deprecate_component(namespace: str, name: str, version: str) -> Response:
    def work() -> dict[str, Any]:
        ids = namespace_id(namespace), name_id(name), version_id(version)
        return _registry().set_deprecated(*ids, _bool_field(_body(), "deprecated"))
    return answer(work)


# --- workflows -----------------------------------------------------------------------------

@app.route(f"{NS}/workflows", methods=["GET"])
def list_workflows(namespace: str) -> Response:
    return answer(lambda: _workflows().list_summaries(namespace_id(namespace)))


@app.route(f"{NS}/workflows", methods=["POST"])
def create_workflow(namespace: str) -> Response:
    return answer(lambda: _workflows().create(namespace_id(namespace), _body()), 201)


@app.route(f"{NS}/workflows/check", methods=["POST"])
def check_workflow(namespace: str) -> Response:
    return answer(lambda: _workflows().check(namespace_id(namespace), _body()))


@app.route(f"{NS}/workflows/{{name}}", methods=["GET"])
def get_workflow(namespace: str, name: str) -> Response:
    return answer(lambda: _workflows().get(namespace_id(namespace), name_id(name), _version_query()))


@app.route(f"{NS}/workflows/{{name}}", methods=["PUT"])
def update_workflow(namespace: str, name: str) -> Response:
    def work() -> dict[str, Any]:
        ids = namespace_id(namespace), name_id(name)
        body = _only_fields(_body(), "expected_version", "definition")
        return _workflows().update(*ids, _version_field(body, "expected_version"),
                                   _object_field(body, "definition"))
    return answer(work)


@app.route(f"{NS}/workflows/{{name}}", methods=["DELETE"])
def delete_workflow(namespace: str, name: str) -> Response:
    return answer(lambda: _workflows().delete(namespace_id(namespace), name_id(name)), 204)


@app.route(f"{NS}/workflows/{{name}}/versions", methods=["GET"])
def workflow_versions(namespace: str, name: str) -> Response:
    return answer(lambda: _workflows().versions(namespace_id(namespace), name_id(name)))


@app.route(f"{NS}/workflows/{{name}}/yaml", methods=["GET"])
def export_workflow(namespace: str, name: str) -> Response:
    def work() -> Response:
        text = _workflows().export_yaml(namespace_id(namespace), name_id(name), _version_query())
        return Response(body=text, status_code=200, headers={"Content-Type": "text/yaml; charset=utf-8"})
    return answer(work)


@app.route(f"{NS}/workflows/{{name}}/enabled", methods=["PUT"])
def enable_workflow(namespace: str, name: str) -> Response:
    def work() -> dict[str, Any]:
        ids = namespace_id(namespace), name_id(name)
        return _workflows().set_enabled(*ids, _bool_field(_body(), "enabled"))
    return answer(work)


# --- reading requests ----------------------------------------------------------------------

def _registry() -> ComponentRegistry:
    return ComponentRegistry(current().store)


def _workflows() -> WorkflowService:
    context = current()
    return WorkflowService(context.store, context.catalog, cloud=context.cloud,
                           on_saved=context.on_workflow_saved, platforms=context.platforms,
                           mounts=context.mounts)


def _request() -> Request:
    request = app.current_request
    if request is None:
        raise RuntimeError("no request is being handled")
    return request


def _body() -> dict[str, Any]:
    raw = _request().raw_body
    return json_object(raw.encode("utf-8") if isinstance(raw, str) else raw)


def _query() -> dict[str, str]:
    return dict(_request().query_params or {})


def _version_query() -> int | None:
    return int_param(_query(), "version", 0, 1, MAX_WORKFLOW_VERSION) or None


def _flag(query: dict[str, str], key: str, *, default: bool) -> bool:
    raw = query.get(key)
    if raw is None:
        return default
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise InvalidRequest(f"query parameter '{key}' must be true or false")


def _only_fields(body: dict[str, Any], *known: str) -> dict[str, Any]:
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise InvalidRequest(f"unknown field(s) in the body: {', '.join(unknown)};"
                             f" expected {', '.join(known)}")
    return body


def _bool_field(body: dict[str, Any], key: str) -> bool:
    value = _only_fields(body, key).get(key)
    if not isinstance(value, bool):
        raise InvalidRequest(f"the body must be {{\"{key}\": true}} or {{\"{key}\": false}}")
    return value


def _version_field(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRequest(f"'{key}' must be the version number you edited (0 for a new workflow)")
    return value


def _object_field(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if not isinstance(value, dict):
        raise InvalidRequest(f"'{key}' must be a JSON object")
    return value


# The runs, logs and webhook routes (a blueprint of their own).
try:
    from chalicelib.api.run_routes import runs as _runs_blueprint
except ImportError:  # being written
    _runs_blueprint = None  # type: ignore[assignment]
if _runs_blueprint is not None:
    app.register_blueprint(_runs_blueprint)


# --- aws mode: the run's engine (DESIGN §4) ---------------------------------------------------
# The launch queue and the log group are the stack's resources: the template maps them to
# these functions (infra/template.json), so no resource name is written here.

@app.lambda_function(name="launch_jobs")
def launch_jobs(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    return lambda_events.launch_batch(aws().launcher, event)


@app.lambda_function(name="ingest_logs")
def ingest_logs(event: dict[str, Any], context: Any) -> None:
    lambda_events.log_batch(aws().log_batches, event)


@app.on_cw_event({"source": ["aws.ecs"], "detail-type": ["ECS Task State Change"],
                  "detail": {"lastStatus": ["STOPPED"], "group": [{"prefix": "containerops:"}]}},
                 name="task_stopped")
def task_stopped(event: CloudWatchEvent) -> None:
    lambda_events.task_state_change(aws().task_finaliser, event.to_dict())


@app.on_cw_event({"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"],
                  "detail": {"status": ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]}},
                 name="execution_ended")
def execution_ended(event: CloudWatchEvent) -> None:
    lambda_events.execution_status_change(aws().run_finaliser, event.to_dict())


@app.schedule(Rate(1, unit=Rate.MINUTES), name="sweep_running_jobs")
def sweep_running_jobs(event: CloudWatchEvent) -> None:
    lambda_events.sweep(aws().sweeper)


@app.schedule(Rate(1, unit=Rate.MINUTES), name="check_eks_jobs")
def check_eks_jobs(event: CloudWatchEvent) -> None:
    lambda_events.eks_check(aws().eks_check)


# --- aws mode: the triggers (README "Triggers"); the template narrows the rules to this
# account and region (infra/template.json). The signed webhook is a route of run_routes.

@app.on_cw_event({"source": ["aws.s3"], "detail-type": ["Object Created"]}, name="object_created")
def object_created(event: CloudWatchEvent) -> None:
    lambda_events.s3_object_created(aws().event_triggers, event.to_dict())


@app.on_cw_event({"source": ["aws.codecommit"], "detail-type": ["CodeCommit Repository State Change"],
                  "detail": {"event": ["referenceCreated", "referenceUpdated"],
                             "referenceType": ["branch"]}},
                 name="reference_changed")
def reference_changed(event: CloudWatchEvent) -> None:
    lambda_events.codecommit_reference_changed(aws().event_triggers, event.to_dict())


@app.schedule(Rate(1, unit=Rate.MINUTES), name="start_scheduled_runs")
def start_scheduled_runs(event: CloudWatchEvent) -> None:
    lambda_events.scheduled_runs(aws().schedules)


# --- access control on API Gateway (keep this section last: it guards every route above) ------
# On AWS every route but the webhook (its HMAC signature guards it) needs a bearer token that
# this authorizer checks against the hashes in Secrets Manager, and only the designer's origin
# is answered cross-origin (chalicelib/api/gateway_access.py). Locally no authorizer is
# attached: `containerops serve` checks its own token.

@app.authorizer(name="api_token", ttl_seconds=GATEWAY_CACHE_SECONDS)
def api_token(request: AuthRequest) -> AuthResponse:
    return token_authorizer()(request)


if backend() is Backend.AWS:
    from chalicelib.api.run_routes import webhook as _signed_webhook

    guard_routes(app, api_token, open_views=[_signed_webhook], origin=designer_origin)
