"""The OpenAPI 3 description of the API, built from the definition models and one route list.

`ROUTES` is the single list of what the API answers; a test checks it against the routes
the Chalice app really has, and the fuzz test (schemathesis) checks every answer against
it. Schemas of Component and Workflow come from the pydantic models, like schemas/*.json.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.models import Component, Workflow

SLUG = {"type": "string", "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"}
RUN_ID = {"type": "string", "pattern": "^[0-9]{8}-[0-9]{6}-[0-9a-f]{8}$"}
JOB = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$"}
# A job, or an instance of a fan-out job (`test.3`): where attempts are read.
JOB_KEY = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,62}(\\.(0|[1-9][0-9]{0,5}))?$"}
JOB_STATES = ["pending", "running", "succeeded", "failed", "cancelled", "skipped", "reused"]
OPTIONAL_SLUG = {"type": "string", "pattern": "^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)?$"}
TIME_QUERY = {"type": "string", "description": "UNIX seconds or ISO 8601 (UTC without a zone)"}
VERSION = {"type": "string", "pattern": r"^\d+(\.\d+){0,2}([-+][0-9A-Za-z.-]+)?$"}
PATH_PARAMS = {
    "namespace": SLUG, "name": SLUG, "run_id": RUN_ID, "job": JOB, "version": VERSION,
    "attempt": {"type": "integer", "minimum": 1},
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    summary: str
    ok: int
    answer: str | None  # a schema name, or None for no body
    body: str | None = None
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: tuple[int, ...] = (400, 404)
    headers: dict[str, dict[str, Any]] = field(default_factory=dict)
    answer_type: str = "application/json"
    # Path parameters whose schema differs here from PATH_PARAMS' (API Gateway wants one
    # name per position, so a wider `job` keeps the name).
    path_params: dict[str, dict[str, Any]] = field(default_factory=dict)


NS = "/api/namespaces/{namespace}"
ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/health", "Is the service up", 200, "Health", errors=()),
    Route("GET", "/api/openapi.json", "This description", 200, "Any", errors=()),
    Route("GET", "/api/namespaces", "Namespaces holding a component or a workflow", 200,
          "NamespaceList", query={"holding": {"enum": ["components"]}}, errors=(400,)),
    # components
    Route("GET", f"{NS}/components", "List components", 200, "ComponentList",
          query={"name": SLUG, "include_deprecated": {"type": "boolean"}}, errors=(400,)),
    Route("POST", f"{NS}/components", "Publish a component version", 201, "ComponentEntry",
          body="Component", errors=(400, 409, 413)),
    Route("GET", f"{NS}/components/{{name}}/versions", "List a component's versions", 200,
          "ComponentList"),
    Route("GET", f"{NS}/components/{{name}}/versions/{{version}}", "Get a component version",
          200, "ComponentEntry"),
    Route("PUT", f"{NS}/components/{{name}}/versions/{{version}}/deprecated",
          "Deprecate (or undeprecate) a version", 200, "ComponentEntry", body="DeprecatedFlag",
          errors=(400, 404, 413)),
    # workflows
    Route("GET", f"{NS}/workflows", "List workflows", 200, "WorkflowList", errors=(400,)),
    Route("POST", f"{NS}/workflows", "Create a workflow", 201, "WorkflowCreated",
          body="Workflow", errors=(400, 409, 413)),
    Route("POST", f"{NS}/workflows/check", "Validate a workflow without saving it", 200,
          "CheckResult", body="Any", errors=(400, 413)),
    Route("GET", f"{NS}/workflows/{{name}}", "Get a workflow (latest or ?version=N)", 200,
          "WorkflowVersion", query={"version": {"type": "integer", "minimum": 1}}),
    Route("PUT", f"{NS}/workflows/{{name}}", "Save a new version", 200, "WorkflowVersion",
          body="WorkflowUpdate", errors=(400, 404, 409, 413)),
    Route("DELETE", f"{NS}/workflows/{{name}}", "Delete a workflow", 204, None),
    Route("GET", f"{NS}/workflows/{{name}}/versions", "List a workflow's versions, newest first",
          200, "WorkflowVersionList"),
    Route("GET", f"{NS}/workflows/{{name}}/yaml", "Export a workflow as YAML", 200, "Any",
          query={"version": {"type": "integer", "minimum": 1}}, answer_type="text/yaml"),
    Route("PUT", f"{NS}/workflows/{{name}}/enabled", "Enable or disable a workflow", 200,
          "WorkflowSummary", body="EnabledFlag", errors=(400, 404, 413)),
    # runs
    Route("POST", f"{NS}/workflows/{{name}}/runs", "Start a run", 201, "RunSummary",
          body="RunRequest", errors=(400, 404, 409, 413)),
    Route("POST", f"{NS}/workflows/{{name}}/webhook", "Start a run from a signed webhook", 202,
          "RunSummary", body="Any", errors=(400, 401, 404, 409, 413),
          headers={"X-Hub-Signature-256": {"type": "string"},
                   "X-GitHub-Delivery": {"type": "string"}, "X-GitHub-Event": {"type": "string"}}),
    Route("GET", f"{NS}/runs", "Run history, newest first", 200, "RunPage",
          query={"workflow": OPTIONAL_SLUG,
                 "status": {"type": "string", "pattern": "^[a-z,]*$",
                            "description": "one or more of queued, running, succeeded, failed,"
                                           " cancelled, comma-separated"},
                 "created_after": TIME_QUERY, "created_before": TIME_QUERY,
                 "limit": {"type": "integer", "minimum": 1, "maximum": 500},
                 "cursor": {"type": "string"}}, errors=(400,)),
    Route("GET", f"{NS}/runs/{{run_id}}", "A run with its jobs and attempts", 200, "RunDocument"),
    Route("POST", f"{NS}/runs/{{run_id}}/cancel", "Cancel a run", 202, "RunSummary"),
    Route("POST", f"{NS}/runs/{{run_id}}/rerun",
          "Re-run a finished run: from failure (the default), every job, or some jobs and the"
          " jobs their outputs feed", 201, "RunSummary", body="RerunRequest",
          errors=(400, 404, 409, 413)),
    Route("GET", f"{NS}/runs/{{run_id}}/jobs/{{job}}/instances",
          "A page of a fan-out job's instances: failed first, then running, then the rest",
          200, "InstancePage",
          query={"state": {"type": "string", "pattern": "^[a-z,_]*$",
                           "description": "one or more of " + ", ".join(JOB_STATES)
                                          + ", comma-separated; pending: the instances not"
                                            " yet started, from the definition"},
                 "limit": {"type": "integer", "minimum": 1, "maximum": 500},
                 "cursor": {"type": "string", "maxLength": 2048}}),
    Route("GET", f"{NS}/runs/{{run_id}}/jobs/{{job}}/attempts/{{attempt}}/logs",
          "An attempt's log lines after a cursor; follow=N long-polls up to N seconds", 200,
          "LogPage", query={"after": {"type": "integer", "minimum": 0},
                            "limit": {"type": "integer", "minimum": 1, "maximum": 5000},
                            "follow": {"type": "number", "minimum": 0, "maximum": 20},
                            "cursor": {"type": "string", "maxLength": 2048}},
          path_params={"job": JOB_KEY}),
)

_OBJECT = {"type": "object"}
_TIME = {"type": ["number", "null"]}
_RUN_SUMMARY = {
    "type": "object",
    "required": ["id", "workflow", "workflow_version", "status"],
    "properties": {
        "id": {"type": "string"}, "workflow": {"type": "string"},
        "workflow_version": {"type": "integer"},
        "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed", "cancelled"]},
        "reason": {"type": "string"}, "params": _OBJECT, "rerun_of": {"type": ["string", "null"]},
        "created_at": {"type": "number"}, "started_at": _TIME, "finished_at": _TIME,
        "cancel_requested": {"type": "boolean"},
        "rerun_scope": {
            "type": ["object", "null"], "required": ["scope"],
            "description": "what the re-run runs again; null for a run that is no re-run",
            "properties": {"scope": {"type": "string", "enum": ["failed", "all", "jobs"]},
                           "jobs": {"type": "array", "items": JOB}},
        },
    },
}
# Requests whose body may be left out (what it means then: their schema's description).
OPTIONAL_BODIES = frozenset({"RunRequest", "RerunRequest"})
SCHEMAS: dict[str, Any] = {
    "Any": {},
    "Text": {"type": "string"},
    "Health": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}},
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"}, "message": {"type": "string"},
                "details": {"type": "array", "items": {
                    "type": "object", "required": ["path", "message"],
                    "properties": {"path": {"type": "string"}, "message": {"type": "string"}}}},
            },
        }},
    },
    "NamespaceList": {"type": "object", "required": ["namespaces"],
                      "properties": {"namespaces": {"type": "array", "items": SLUG}}},
    "ComponentEntry": {
        "type": "object",
        "required": ["namespace", "name", "version", "deprecated", "definition"],
        "properties": {"namespace": {"type": "string"}, "name": {"type": "string"},
                       "version": {"type": "string"}, "deprecated": {"type": "boolean"},
                       "definition": _OBJECT},
    },
    "ComponentList": {"type": "object", "properties": {
        "components": {"type": "array", "items": _ref("ComponentEntry")},
        "versions": {"type": "array", "items": _ref("ComponentEntry")}}},
    "DeprecatedFlag": {"type": "object", "required": ["deprecated"],
                       "properties": {"deprecated": {"type": "boolean"}}},
    "EnabledFlag": {"type": "object", "required": ["enabled"],
                    "properties": {"enabled": {"type": "boolean"}}},
    "WorkflowSummary": {"type": "object", "required": ["namespace", "name", "version", "enabled"],
                        "properties": {"namespace": {"type": "string"}, "name": {"type": "string"},
                                       "version": {"type": "integer"}, "enabled": {"type": "boolean"},
                                       "description": {"type": "string"},
                                       # in lists: the workflow's newest run, null for none
                                       "last_run": {"type": ["object", "null"],
                                                    "required": ["id", "status"],
                                                    "properties": {"id": {"type": "string"},
                                                                   "status": {"type": "string"}}}}},
    "WorkflowList": {"type": "object", "required": ["workflows"],
                     "properties": {"workflows": {"type": "array", "items": _ref("WorkflowSummary")}}},
    "WorkflowVersion": {"type": "object", "required": ["namespace", "name", "version", "definition"],
                        "properties": {"namespace": {"type": "string"}, "name": {"type": "string"},
                                       "version": {"type": "integer"}, "definition": _OBJECT}},
    "WorkflowVersionList": {"type": "object", "required": ["namespace", "name", "versions"], "properties": {
        "namespace": {"type": "string"}, "name": {"type": "string"},
        "versions": {"type": "array", "items": {
            "type": "object", "required": ["version", "created_at", "latest"],
            "properties": {"version": {"type": "integer", "minimum": 1},
                           "created_at": {"type": "number"}, "latest": {"type": "boolean"}}}}}},
    "WorkflowCreated": {"allOf": [_ref("WorkflowVersion"), {
        "type": "object", "required": ["webhook_secret"],
        "properties": {"webhook_secret": {"type": "string"}}}]},
    "WorkflowUpdate": {"type": "object", "required": ["expected_version", "definition"],
                       "properties": {"expected_version": {"type": "integer", "minimum": 0},
                                      "definition": _ref("Workflow")}},
    "CheckResult": {"type": "object", "required": ["valid", "problems"],
                    "properties": {"valid": {"type": "boolean"}, "problems": {"type": "array"}}},
    "RunRequest": {"type": "object", "properties": {
        "params": {"type": "object", "additionalProperties": {"type": "string"}}}},
    "RerunRequest": {
        "type": "object", "additionalProperties": False,
        "description": "no body or {} is {\"scope\": \"failed\"}",
        "properties": {
            "scope": {"type": "string", "enum": ["failed", "all", "jobs"],
                      "description": "failed: re-run from failure (a failed or cancelled run);"
                                     " all: every job again; jobs: the jobs named and every job"
                                     " fed by their outputs, the rest reused"},
            "jobs": {"type": "array", "items": JOB, "minItems": 1,
                     "description": "with scope jobs only: the jobs to re-run"},
        },
    },
    "RunSummary": _RUN_SUMMARY,
    "RunPage": {"type": "object", "required": ["runs", "next_cursor"],
                "properties": {"runs": {"type": "array", "items": _ref("RunSummary")},
                               "next_cursor": {"type": ["string", "null"]}}},
    "RunDocument": {"allOf": [_ref("RunSummary"), {
        "type": "object", "required": ["jobs"],
        # What started the run (README "Triggers": `trigger.*`), as recorded.
        "properties": {"trigger": _OBJECT, "jobs": {"type": "array", "items": {
            "type": "object",
            # A reused job's origin: the run and attempt that did its work (null otherwise).
            "properties": {"reused_from": {
                "type": ["object", "null"], "required": ["run", "attempt"],
                "properties": {"run": {"type": "string"},
                               "attempt": {"type": "integer", "minimum": 1}}},
                # Only on a fan-out job: its instance count and how many are in each state.
                "fan_out": {
                    "type": "object", "required": ["instances", "counts", "max_parallel"],
                    "properties": {
                        "instances": {"type": "integer", "minimum": 1},
                        "counts": {"type": "object",
                                   "additionalProperties": {"type": "integer", "minimum": 0}},
                        "max_parallel": {"type": ["integer", "null"]}}}}}}}}]},
    "InstancePage": {"type": "object", "required": ["instances", "next_cursor"], "properties": {
        "instances": {"type": "array", "items": {
            "type": "object",
            "required": ["index", "key", "values", "shard", "status", "reason", "attempts",
                         "exit_code", "started_at", "finished_at", "outputs"],
            "properties": {
                "index": {"type": "integer", "minimum": 0}, "key": JOB_KEY,
                "values": {"type": "object", "additionalProperties": {"type": "string"}},
                "shard": {"type": ["integer", "null"]}, "status": {"enum": JOB_STATES},
                "reason": {"type": "string"}, "attempts": {"type": "integer"},
                "exit_code": {"type": ["integer", "null"]}, "started_at": _TIME,
                "finished_at": _TIME,
                "outputs": {"type": "object", "additionalProperties": {"type": "string"}}}}},
        "next_cursor": {"type": ["string", "null"]}}},
    "LogPage": {"type": "object", "required": ["lines", "next_after", "done"],
                "properties": {"lines": {"type": "array", "items": {
                    "type": "object", "required": ["seq", "time", "text", "cout", "stream"],
                    "properties": {"seq": {"type": "integer"}, "time": {"type": "number"},
                                   "text": {"type": "string"}, "cout": {"type": "boolean"},
                                   "stream": {"enum": ["stdout", "stderr", ""]}}}},
                               "next_after": {"type": "integer"}, "done": {"type": "boolean"},
                               "cursor": {"type": "string"}}},
}

_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No content", 400: "Bad request",
            401: "Unauthorized", 404: "Not found", 409: "Conflict", 413: "Body too large"}


def openapi_document() -> dict[str, Any]:
    schemas = dict(SCHEMAS)
    for model in (Component, Workflow):
        generated = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
        schemas.update(generated.pop("$defs", {}))
        schemas[model.__name__] = generated
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "ContainerOps API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
    }


def _operation(route: Route) -> dict[str, Any]:
    parameters = [
        {"name": name, "in": "path", "required": True,
         "schema": route.path_params.get(name, PATH_PARAMS[name])}
        for name in _path_names(route.path)
    ]
    for place, extra in (("query", route.query), ("header", route.headers)):
        parameters += [{"name": n, "in": place, "required": False, "schema": s} for n, s in extra.items()]
    responses: dict[str, Any] = {}
    ok: dict[str, Any] = {"description": _REASONS[route.ok]}
    if route.answer is not None:
        ok["content"] = {route.answer_type: {"schema": _ref(route.answer)}}
    responses[str(route.ok)] = ok
    for status in route.errors:
        responses[str(status)] = {"description": _REASONS[status],
                                  "content": {"application/json": {"schema": _ref("Error")}}}
    operation: dict[str, Any] = {"summary": route.summary, "parameters": parameters, "responses": responses}
    if route.body is not None:
        operation["requestBody"] = {"required": route.method != "POST" or route.body not in OPTIONAL_BODIES,
                                    "content": {"application/json": {"schema": _ref(route.body)}}}
    return operation


def allowed_methods(path: str) -> list[str]:
    """The methods the API answers on a concrete path (for a 405's Allow header)."""
    return sorted({
        route.method for route in ROUTES
        if re.fullmatch(re.sub(r"\{[^/]+\}", "[^/]+", route.path), path)
    })


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]
