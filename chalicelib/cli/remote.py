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

from chalicelib.domain.models import Workflow, dump_definition
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


class ApiClient:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 60.0) -> None:
        self._base = base_url.rstrip("/")
        self._token = token if token is not None else os.environ.get(TOKEN_VARIABLE, "")
        self._timeout = timeout

    # --- definitions ------------------------------------------------------------------
    def publish_component(self, document: dict[str, Any]) -> None:
        """Publish a component version; one already published is left as it is."""
        namespace = document["metadata"]["namespace"]
        try:
            self.call("POST", f"/api/namespaces/{namespace}/components", document)
        except Conflict:
            pass  # versions are immutable: the registry already has it

    def save_workflow(self, document: dict[str, Any]) -> int:
        """Create the workflow, or save a new version when it changed; its version."""
        namespace, name = document["metadata"]["namespace"], document["metadata"]["name"]
        try:
            return int(self.call("POST", f"/api/namespaces/{namespace}/workflows", document)["version"])
        except Conflict:
            latest = self.call("GET", f"/api/namespaces/{namespace}/workflows/{name}")
        if same_workflow(latest["definition"], document):
            return int(latest["version"])
        saved = self.call("PUT", f"/api/namespaces/{namespace}/workflows/{name}",
                          {"expected_version": latest["version"], "definition": document})
        return int(saved["version"])

    # --- runs ---------------------------------------------------------------------------
    def start_run(self, namespace: str, name: str, params: dict[str, str]) -> dict[str, Any]:
        return self.call("POST", f"/api/namespaces/{namespace}/workflows/{name}/runs",
                         {"params": params})

    def run(self, namespace: str, run_id: str) -> dict[str, Any]:
        return self.call("GET", f"/api/namespaces/{namespace}/runs/{run_id}")

    def runs(self, namespace: str, **query: str | int | float) -> list[dict[str, Any]]:
        answer = self.call("GET", f"/api/namespaces/{namespace}/runs", query=query)
        return list(answer["runs"])

    def cancel(self, namespace: str, run_id: str) -> dict[str, Any]:
        return self.call("POST", f"/api/namespaces/{namespace}/runs/{run_id}/cancel")

    def logs(self, namespace: str, run_id: str, job: str, attempt: int, after: int = 0,
             follow: float = 0) -> dict[str, Any]:
        return self.call(
            "GET", f"/api/namespaces/{namespace}/runs/{run_id}/jobs/{job}/attempts/{attempt}/logs",
            query={"after": after, "limit": 1000, "follow": follow},
        )

    # --- transport ----------------------------------------------------------------------
    def call(self, method: str, path: str, body: Any = None,
             query: dict[str, str | int | float] | None = None) -> dict[str, Any]:
        url = self._base + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v != ""})
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
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
            raise ContainerOpsError(f"cannot reach the ContainerOps server at {self._base}: "
                                    f"{exc.reason}") from exc
        answer_body: dict[str, Any] = json.loads(text) if text else {}
        return answer_body


def same_workflow(stored: dict[str, Any], document: dict[str, Any]) -> bool:
    """Whether two workflow documents say the same (defaults written out or not)."""
    return dump_definition(Workflow.model_validate(stored)) == dump_definition(
        Workflow.model_validate(document))


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
