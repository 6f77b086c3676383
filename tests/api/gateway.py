"""The API as API Gateway serves it, for the access tests: app.py imported the way a deployed
function imports it (CONTAINEROPS_BACKEND=aws, so its routes are guarded), and a gateway in
front that does what API Gateway does with the authorizer.

`deployed_app` imports app.py afresh, with the run routes' module, under the aws backend, and
puts the modules the rest of the suite uses back afterwards (a blueprint registers in one app
only, and `containerops serve` finds the app by its module). `Gateway` runs a request through
Chalice's local gateway, which calls the route's authorizer first, as API Gateway does (and
refuses a request without an Authorization header before it, as API Gateway does); a refusal
is answered with the gateway response the stack's template defines for it, the origin header
resolved to the origin the stack was given."""

from __future__ import annotations

import base64
import importlib
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from chalice.config import Config
from chalice.local import ForbiddenError, LocalGateway, NotAuthorizedError

from chalicelib.api.authorizer import TokenRefused
from chalicelib.config import BACKEND_VARIABLE, DESIGNER_ORIGIN_VARIABLE
from chalicelib.errors import ContainerOpsError
from tests.infra.templates import load_merge_template

# What the fresh import replaces, and puts back after.
APP_MODULES = ("app", "chalicelib.api.run_routes")


@contextmanager
def deployed_app(monkeypatch: pytest.MonkeyPatch, designer_origin: str | None) -> Iterator[ModuleType]:
    monkeypatch.setenv(BACKEND_VARIABLE, "aws")
    if designer_origin is None:
        monkeypatch.delenv(DESIGNER_ORIGIN_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(DESIGNER_ORIGIN_VARIABLE, designer_origin)
    saved = {name: sys.modules.pop(name) for name in APP_MODULES if name in sys.modules}
    try:
        yield importlib.import_module("app")
    finally:
        for name in APP_MODULES:
            sys.modules.pop(name, None)
        sys.modules.update(saved)
        package = sys.modules.get("chalicelib.api")
        if "chalicelib.api.run_routes" in saved and package is not None:
            package.run_routes = saved["chalicelib.api.run_routes"]  # type: ignore[attr-defined]


def gateway_responses() -> dict[str, Any]:
    body: dict[str, Any] = load_merge_template()["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    responses: dict[str, Any] = body["x-amazon-apigateway-gateway-responses"]
    return responses


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Gateway:
    def __init__(self, app: Any, designer_origin: str) -> None:
        self._local = LocalGateway(app, Config())
        self._origin = designer_origin

    def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                body: bytes | None = None) -> Answer:
        try:
            response = self._local.handle_request(method=method, path=path, headers=headers or {}, body=body)
        except (NotAuthorizedError, TokenRefused):  # no Authorization header; the authorizer said no
            return self._gateway_response("UNAUTHORIZED")
        except ContainerOpsError:  # the authorizer failed otherwise (the list could not be read)
            return self._gateway_response("AUTHORIZER_FAILURE")
        except ForbiddenError as exc:  # a Deny policy, or no such route
            return Answer(403, dict(exc.headers), exc.body or b"")
        headers_out = {**response["headers"], **{k: ", ".join(v) for k, v in
                                                 response.get("multiValueHeaders", {}).items()}}
        raw = response.get("body") or ""
        content = base64.b64decode(raw) if response.get("isBase64Encoded") else str(raw).encode()
        return Answer(int(response["statusCode"]), headers_out, content)

    def _gateway_response(self, kind: str) -> Answer:
        response = gateway_responses()[kind]
        headers = {"Content-Type": "application/json"}
        for key, value in response["responseParameters"].items():
            name = key.removeprefix("gatewayresponse.header.")
            headers[name] = self._static(value).strip("'")
        return Answer(int(response["statusCode"]), headers,
                      response["responseTemplates"]["application/json"].encode())

    def _static(self, value: Any) -> str:
        """A header value as deployed: the origin's Fn::If resolved for the stack's origin."""
        if isinstance(value, str):
            return value
        condition, given, _ = value["Fn::If"]
        assert condition == "DesignerOriginGiven"
        return str(given["Fn::Sub"]).replace("${DesignerOrigin}", self._origin)
