"""The namespaces over HTTP: what the designer offers to browse."""

from __future__ import annotations

import copy
from typing import Any

from tests.api.conftest import Api, example_component, example_components, example_workflow


def _hello_in(namespace: str) -> dict[str, Any]:
    document = copy.deepcopy(example_workflow("hello"))
    document["metadata"]["namespace"] = namespace
    return document


def test_a_new_server_has_no_namespaces(api: Api) -> None:
    response = api.get("/api/namespaces")
    assert response.status_code == 200
    assert response.json_body == {"namespaces": []}


def test_namespaces_with_components_or_workflows_are_listed_sorted_and_once(api: Api) -> None:
    for document in example_components():
        assert api.post("/api/namespaces/containerops/components", document).status_code == 201
    for document in [_hello_in("examples"), _hello_in("demo"), example_workflow("retry")]:
        namespace = document["metadata"]["namespace"]
        assert api.post(f"/api/namespaces/{namespace}/workflows", document).status_code == 201
    assert api.get("/api/namespaces").json_body == {
        "namespaces": ["containerops", "demo", "examples"]}


def test_a_namespace_whose_only_workflow_was_deleted_is_no_longer_listed(api: Api) -> None:
    assert api.post("/api/namespaces/scratch/workflows", _hello_in("scratch")).status_code == 201
    assert api.post("/api/namespaces/examples/workflows", _hello_in("examples")).status_code == 201
    assert api.delete("/api/namespaces/scratch/workflows/hello").status_code == 204
    assert api.get("/api/namespaces").json_body == {"namespaces": ["examples"]}


def test_a_namespace_with_only_deprecated_components_is_still_listed(api: Api) -> None:
    document = example_component("pytest")
    assert api.post("/api/namespaces/containerops/components", document).status_code == 201
    deprecated = api.put("/api/namespaces/containerops/components/pytest/versions/1.0.0/deprecated",
                         {"deprecated": True})
    assert deprecated.status_code == 200
    assert api.get("/api/namespaces").json_body == {"namespaces": ["containerops"]}


def test_the_registry_lists_only_the_namespaces_holding_components(api: Api) -> None:
    assert api.post("/api/namespaces/containerops/components", example_component("pytest")).status_code == 201
    assert api.post("/api/namespaces/examples/workflows", _hello_in("examples")).status_code == 201
    assert api.get("/api/namespaces?holding=components").json_body == {"namespaces": ["containerops"]}
    refused = api.get("/api/namespaces?holding=nothing")
    assert refused.status_code == 400 and "holding" in refused.json_body["error"]["message"]


def test_the_namespace_list_is_described_in_the_openapi_document(api: Api) -> None:
    document = api.get("/api/openapi.json").json_body
    answer = document["paths"]["/api/namespaces"]["get"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NamespaceList"}
    assert document["components"]["schemas"]["NamespaceList"]["required"] == ["namespaces"]
