"""Who may call the API as deployed (the packaged template): every route but the webhook goes
through the api_token authorizer, which reads only the token hashes' secret; a browser's
preflight needs no token; what API Gateway answers for a refused token is the API's own JSON
error; and the designer's origin is the only one answered cross-origin."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

import app
from chalicelib.api.authorizer import GATEWAY_CACHE_SECONDS
from chalicelib.api.errors import error_response
from chalicelib.config import API_TOKENS_SECRET_VARIABLE, DESIGNER_ORIGIN_VARIABLE
from chalicelib.domain.api_tokens import TokenHashes
from tests.infra.templates import (
    Template,
    function_role,
    own_environment,
    referenced_resources,
    role_statements,
)

WEBHOOK = "/api/namespaces/{namespace}/workflows/{name}/webhook"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head"}
# What API Gateway answers itself when the authorizer refuses a request or cannot check it.
GATEWAY_ERRORS = {
    "UNAUTHORIZED": (401, "unauthorized"),
    "ACCESS_DENIED": (403, "forbidden"),
    "AUTHORIZER_FAILURE": (503, "service_unavailable"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, "internal"),
}


def swagger(template: Template) -> dict[str, Any]:
    body: dict[str, Any] = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    return body


def operations(template: Template) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, operation) for path, methods in swagger(template)["paths"].items()
            for method, operation in methods.items()]


def test_the_packaged_api_has_every_route_of_the_app(packaged_template: Template) -> None:
    routes = {(path, method.lower()) for path, entries in app.app.routes.items() for method in entries}
    packaged = {(path, method) for path, method, _ in operations(packaged_template) if method != "options"}
    assert packaged == routes


def test_every_route_but_the_webhook_needs_the_token_authorizer(packaged_template: Template) -> None:
    guarded = [(path, method) for path, method, _ in operations(packaged_template)
               if method in HTTP_METHODS and path != WEBHOOK]
    assert len(guarded) > 20
    for path, method, operation in operations(packaged_template):
        if method in HTTP_METHODS and path != WEBHOOK:
            assert operation.get("security") == [{"api_token": []}], (path, method)


def test_the_webhook_is_checked_by_its_signature_only(packaged_template: Template) -> None:
    webhook = swagger(packaged_template)["paths"][WEBHOOK]
    assert set(webhook) == {"post"}  # no preflight either: no browser calls it
    assert "security" not in webhook["post"]


def test_every_guarded_path_answers_its_preflight_without_a_token(packaged_template: Template) -> None:
    for path, methods in swagger(packaged_template)["paths"].items():
        if path == WEBHOOK:
            continue
        preflight = methods["options"]
        assert "security" not in preflight, path
        # the API function answers it, with the origin the stack was deployed with
        assert preflight["x-amazon-apigateway-integration"]["type"] == "aws_proxy", path


def test_the_authorizer_is_the_api_token_function_reading_the_bearer_header(
        packaged_template: Template) -> None:
    (definition,) = swagger(packaged_template)["securityDefinitions"].values()
    assert definition["name"] == "Authorization" and definition["x-amazon-apigateway-authtype"] == "custom"
    authorizer = definition["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "token"
    assert referenced_resources(authorizer["authorizerUri"]) == {"ApiToken"}
    assert authorizer["authorizerResultTtlInSeconds"] == GATEWAY_CACHE_SECONDS
    assert packaged_template["Resources"]["ApiToken"]["Properties"]["Handler"] == "app.api_token"


def test_the_authorizer_reads_the_token_hashes_and_nothing_else(packaged_template: Template) -> None:
    environment = own_environment(packaged_template, "ApiToken")
    assert environment[API_TOKENS_SECRET_VARIABLE] == {"Ref": "ApiTokenHashes"}
    grants = role_statements(packaged_template, function_role(packaged_template, "ApiToken"))
    reads = [s for s in grants if "secretsmanager:GetSecretValue" in s.actions]
    assert [(s.actions, s.resources) for s in reads] == [(["secretsmanager:GetSecretValue"],
                                                           [{"Ref": "ApiTokenHashes"}])]
    (others,) = [s for s in grants if s not in reads]  # its own logs (test_functions.py)
    assert referenced_resources(others.resources) == {"ApiTokenLogGroup"}


def test_no_other_function_may_read_the_token_hashes(packaged_template: Template) -> None:
    from tests.infra.test_functions import FUNCTIONS

    for function in set(FUNCTIONS) - {"ApiToken"}:
        statements = role_statements(packaged_template, function_role(packaged_template, function))
        assert all("ApiTokenHashes" not in referenced_resources(s.resources) for s in statements), function


def test_the_token_secret_starts_with_no_valid_token(packaged_template: Template) -> None:
    secret = packaged_template["Resources"]["ApiTokenHashes"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert "GenerateSecretString" not in secret["Properties"]
    assert TokenHashes.parse(secret["Properties"]["SecretString"]) == TokenHashes()
    outputs = packaged_template["Outputs"]
    assert outputs["ApiTokenHashesArn"]["Value"] == {"Ref": "ApiTokenHashes"}


@pytest.mark.parametrize(("kind", "answer"), sorted(GATEWAY_ERRORS.items()))
def test_api_gateway_answers_a_refused_token_with_the_apis_json_error(
        packaged_template: Template, kind: str, answer: tuple[int, str]) -> None:
    status, code = answer
    response = swagger(packaged_template)["x-amazon-apigateway-gateway-responses"][kind]
    assert response["statusCode"] == str(status)
    body = json.loads(response["responseTemplates"]["application/json"])
    expected = json.loads(error_response(status, code, body["error"]["message"]).body)
    assert body == expected and body["error"]["message"]


def test_the_gateways_401_is_worded_as_the_local_servers(packaged_template: Template) -> None:
    response = swagger(packaged_template)["x-amazon-apigateway-gateway-responses"]["UNAUTHORIZED"]
    text = response["responseTemplates"]["application/json"]
    # the local server's refusal (chalicelib/server.py), as tests/api/test_gateway_access.py reads it
    assert json.loads(text)["error"]["message"] == "a valid 'Authorization: Bearer <token>' is required"
    assert "$" not in text and "#" not in text  # nothing for API Gateway's template engine to expand


def test_gateway_errors_and_the_api_answer_the_same_one_origin(packaged_template: Template) -> None:
    api_origin = own_environment(packaged_template, "APIHandler")[DESIGNER_ORIGIN_VARIABLE]
    assert api_origin == {"Fn::If": ["DesignerOriginGiven", {"Ref": "DesignerOrigin"},
                                     {"Fn::Sub": "https://${DesignerDistribution.DomainName}"}]}
    quoted = {"Fn::If": ["DesignerOriginGiven", {"Fn::Sub": "'${DesignerOrigin}'"},
                         {"Fn::Sub": "'https://${DesignerDistribution.DomainName}'"}]}
    for kind in GATEWAY_ERRORS:
        parameters = swagger(packaged_template)["x-amazon-apigateway-gateway-responses"][kind][
            "responseParameters"]
        assert parameters["gatewayresponse.header.Access-Control-Allow-Origin"] == quoted, kind
    condition = packaged_template["Conditions"]["DesignerOriginGiven"]
    assert condition == {"Fn::Not": [{"Fn::Equals": [{"Ref": "DesignerOrigin"}, ""]}]}


@pytest.mark.parametrize(("origin", "accepted"), [
    ("", True), ("https://ci.example.com", True), ("https://ci.example.com:8443", True),
    ("http://localhost:5173", True), ("https://ci.example.com/", False), ("https://a.example/path", False),
    ("*", False), ("null", False), ("ci.example.com", False),
])
def test_the_designer_origin_parameter_takes_one_origin_or_nothing(
        merge_template: Template, origin: str, accepted: bool) -> None:
    parameter = merge_template["Parameters"]["DesignerOrigin"]
    assert parameter["Default"] == ""
    assert (re.fullmatch(parameter["AllowedPattern"], origin) is not None) == accepted
