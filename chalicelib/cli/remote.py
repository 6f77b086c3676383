"""The command line against a running server (`--server URL`): a small HTTP client.

It speaks the API of app.py and turns its error answers back into the project's errors,
so the commands report them exactly as they do locally.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from pydantic import ValidationError

from chalicelib.domain.models import Workflow, dump_definition
from chalicelib.domain.states import JobState, RunState
from chalicelib.engine.records import FROM_FAILURE, JobRecord, RerunScope, RunRecord
from chalicelib.errors import (
    Conflict,
    ContainerOpsError,
    InvalidDefinition,
    InvalidRequest,
    NotFound,
    Problem,
    Unauthorized,
)

TOKEN_VARIABLE = "CONTAINEROPS_API_TOKEN"


class ServerUnreachable(ContainerOpsError):
    """No answer at all (refused, reset, timed out): perhaps only for a moment."""


class ApiClient:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 60.0) -> None:
        self._base = base_url.rstrip("/")
        self._token = token if token is not None else os.environ.get(TOKEN_VARIABLE, "")
        self._timeout = timeout

    # --- definitions ------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self._base

    def publish_component(self, document: dict[str, Any]) -> None:
        """Publish a component version; one already published is left as it is."""
        namespace, _ = identity(document)
        try:
            self.call("POST", f"{_ns(namespace)}/components", document)
        except Conflict:
            pass  # versions are immutable: the registry already has it

    def save_workflow(self, document: dict[str, Any]) -> int:
        """Create the workflow, or save a new version when it changed; its version."""
        namespace, name = identity(document)
        try:
            return int(self.call("POST", f"{_ns(namespace)}/workflows", document)["version"])
        except Conflict:
            latest = self.call("GET", f"{_ns(namespace)}/workflows/{_q(name)}")
        if same_workflow(latest["definition"], document):
            return int(latest["version"])
        saved = self.call("PUT", f"{_ns(namespace)}/workflows/{_q(name)}",
                          {"expected_version": latest["version"], "definition": document})
        return int(saved["version"])

    def workflow(self, namespace: str, name: str, version: int | None = None) -> dict[str, Any]:
        """A workflow version's definition (the latest if no version is given)."""
        query: dict[str, str | int | float] = {"version": version} if version is not None else {}
        definition: dict[str, Any] = self.call(
            "GET", f"{_ns(namespace)}/workflows/{_q(name)}", query=query)["definition"]
        return definition

    # --- runs ---------------------------------------------------------------------------
    def start_run(self, namespace: str, name: str, params: dict[str, str]) -> dict[str, Any]:
        return self.call("POST", f"{_ns(namespace)}/workflows/{_q(name)}/runs",
                         {"params": params})

    def run(self, namespace: str, run_id: str) -> dict[str, Any]:
        return self.call("GET", f"{_ns(namespace)}/runs/{_q(run_id)}")

    def runs(self, namespace: str, **query: str | int | float) -> list[dict[str, Any]]:
        return list(self.runs_page(namespace, **query)["runs"])

    def runs_page(self, namespace: str, **query: str | int | float) -> dict[str, Any]:
        """One page of history: {"runs": [...], "next_cursor": ...}; empty values are left out."""
        return self.call("GET", f"{_ns(namespace)}/runs", query=query)

    def cancel(self, namespace: str, run_id: str) -> dict[str, Any]:
        return self.call("POST", f"{_ns(namespace)}/runs/{_q(run_id)}/cancel")

    def rerun(self, namespace: str, run_id: str, scope: RerunScope = FROM_FAILURE) -> dict[str, Any]:
        """Start a re-run of a finished run; the new run's summary. From failure it sends no
        body, as a server from before scopes expects."""
        body = None if scope == FROM_FAILURE else scope.as_document()
        return self.call("POST", f"{_ns(namespace)}/runs/{_q(run_id)}/rerun", body)

    def namespaces(self) -> list[str]:
        return [str(name) for name in self.call("GET", "/api/namespaces")["namespaces"]]

    def logs(self, namespace: str, run_id: str, job: str, attempt: int, after: int = 0,
             follow: float = 0) -> dict[str, Any]:
        return self.call(
            "GET", f"{_ns(namespace)}/runs/{_q(run_id)}/jobs/{_q(job)}/attempts/{attempt}/logs",
            query={"after": after, "limit": 1000, "follow": follow},
        )

    # --- transport ----------------------------------------------------------------------
    def call(self, method: str, path: str, body: Any = None,
             query: dict[str, str | int | float] | None = None) -> dict[str, Any]:
        parsed = urllib.parse.urlsplit(self._base)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ContainerOpsError(f"'{self._base}' is not a server URL "
                                    "(expected http://HOST:PORT)")
        url = self._base + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v != ""})
        data = json.dumps(body, default=str).encode() if body is not None else None
        try:
            request = urllib.request.Request(url, data=data, method=method)
        except ValueError as exc:  # no scheme: "localhost:8080" rather than "http://..."
            raise ContainerOpsError(f"'{self._base}' is not a server URL "
                                    "(expected http://HOST:PORT)") from exc
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as answer:
                text = answer.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            raise error_from_answer(exc.code, exc.read().decode("utf-8", "replace")) from exc
        except urllib.error.URLError as exc:
            raise ServerUnreachable(f"cannot reach the ContainerOps server at {self._base}: "
                                    f"{exc.reason}") from exc
        except ValueError as exc:  # no scheme, a bad port...
            raise ContainerOpsError(f"'{self._base}' is not a server URL "
                                    "(expected http://HOST:PORT)") from exc
        except OSError as exc:  # a timeout, a connection reset mid-answer
            raise ServerUnreachable(f"the ContainerOps server at {self._base} did not answer: "
                                    f"{exc}") from exc
        try:
            answer_body = json.loads(text) if text else {}
        except ValueError as exc:
            raise ContainerOpsError(f"{self._base} answered something that is not JSON: is it "
                                    "a ContainerOps server?") from exc
        if not isinstance(answer_body, dict):
            raise ContainerOpsError(f"{self._base} answered an unexpected document: is it a "
                                    "ContainerOps server?")
        return answer_body


def _q(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


def _ns(namespace: str) -> str:
    return f"/api/namespaces/{_q(namespace)}"


def identity(document: dict[str, Any]) -> tuple[str, str]:
    """A definition's (namespace, name), or InvalidDefinition saying which is missing."""
    metadata = document.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    values = []
    for key in ("namespace", "name"):
        value = metadata.get(key)
        if not isinstance(value, str) or not value:
            raise InvalidDefinition([Problem(f"metadata.{key}", "is required")])
        values.append(value)
    return values[0], values[1]


# --- the API's run document as the records the progress classes and summaries take -------

def run_record(document: dict[str, Any]) -> RunRecord:
    namespace, _, workflow = str(document["workflow"]).partition("/")
    return RunRecord(
        id=str(document["id"]), namespace=namespace, workflow=workflow,
        workflow_version=int(document["workflow_version"]),
        status=RunState(document["status"]), created_at=float(document.get("created_at") or 0),
        params=dict(document.get("params") or {}), started_at=document.get("started_at"),
        finished_at=document.get("finished_at"), reason=str(document.get("reason") or ""),
        rerun_of=document.get("rerun_of"), cancel_requested=bool(document.get("cancel_requested")),
        rerun_scope=RerunScope.from_document(document.get("rerun_scope")),
    )


def job_records(document: dict[str, Any]) -> list[JobRecord]:
    run_id = str(document["id"])
    return [
        JobRecord(
            run_id=run_id, name=str(job["name"]), stage=int(job.get("stage", 0)),
            action=int(job.get("action", 0)), position=position,
            status=JobState(job["status"]), reason=str(job.get("reason") or ""),
            outputs=dict(job.get("outputs") or {}), exit_code=job.get("exit_code"),
            attempts=int(job.get("attempts") or 0), started_at=job.get("started_at"),
            finished_at=job.get("finished_at"),
        )
        for position, job in enumerate(document.get("jobs", []))
    ]


def same_workflow(stored: dict[str, Any], document: dict[str, Any]) -> bool:
    """Whether two workflow documents say the same (defaults written out or not)."""
    try:
        return dump_definition(Workflow.model_validate(stored)) == dump_definition(
            Workflow.model_validate(document))
    except ValidationError:
        return False  # saving it lets the server list what is wrong with it


def error_from_answer(status: int, text: str) -> ContainerOpsError:
    try:
        error = json.loads(text)["error"]
        message = str(error["message"])
        problems = [Problem(d["path"], d["message"]) for d in error.get("details", [])]
    except (ValueError, KeyError, TypeError):
        message, problems = text.strip()[:200] or f"HTTP {status}", []
    if status == 400 and problems:
        return InvalidDefinition(problems, "server")
    kinds: dict[int, type[ContainerOpsError]] = {
        400: InvalidRequest, 401: Unauthorized, 404: NotFound, 409: Conflict,
    }
    return kinds.get(status, ContainerOpsError)(message)
