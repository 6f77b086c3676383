"""The components registry over HTTP: publish, list, versions, get, deprecate."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from chalicelib.api.requests import MAX_BODY_BYTES
from tests.api.conftest import Api, error_of, example_component, example_components, problem_paths

NS = "/api/namespaces/containerops"


def _with_version(document: dict[str, Any], version: str) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    changed["metadata"]["version"] = version
    changed["spec"]["image"] = f"containerops/pytest:{version}"
    return changed


def _publish_all(api: Api) -> None:
    for document in example_components():
        assert api.post(f"{NS}/components", document).status_code == 201


# --- publish and get -------------------------------------------------------------------

def test_published_example_components_can_be_read_back(api: Api) -> None:
    for document in example_components():
        published = api.post(f"{NS}/components", document)
        assert published.status_code == 201
        metadata = document["metadata"]
        read = api.get(f"{NS}/components/{metadata['name']}/versions/{metadata['version']}")
        assert read.status_code == 200
        assert read.json_body == published.json_body
        entry = read.json_body
        assert (entry["namespace"], entry["name"], entry["version"]) == (
            "containerops", metadata["name"], metadata["version"])
        assert entry["description"] == metadata["description"]
        assert entry["deprecated"] is False
        assert isinstance(entry["created_at"], float)
        assert entry["definition"]["spec"]["image"] == document["spec"]["image"]
        assert entry["definition"]["kind"] == "Component"


def test_republishing_the_same_version_is_a_conflict_even_when_identical(api: Api) -> None:
    document = example_component("pytest")
    assert api.post(f"{NS}/components", document).status_code == 201
    again = api.post(f"{NS}/components", document)
    assert again.status_code == 409
    assert error_of(again)["code"] == "conflict"
    assert "immutable" in error_of(again)["message"]


def test_republishing_a_version_with_other_content_leaves_the_first_one(api: Api) -> None:
    document = example_component("pytest")
    api.post(f"{NS}/components", document)
    changed = copy.deepcopy(document)
    changed["spec"]["image"] = "someone/else:1"
    assert api.post(f"{NS}/components", changed).status_code == 409
    read = api.get(f"{NS}/components/pytest/versions/1.0.0").json_body
    assert read["definition"]["spec"]["image"] == "containerops/pytest:1.0.0"


def test_a_component_sent_to_another_namespace_is_refused_at_metadata_namespace(api: Api) -> None:
    response = api.post("/api/namespaces/elsewhere/components", example_component("pytest"))
    assert response.status_code == 400
    assert error_of(response)["code"] == "validation_failed"
    assert problem_paths(response) == ["metadata.namespace"]
    assert api.get("/api/namespaces/elsewhere/components").json_body == {"components": []}


def test_every_problem_of_a_component_is_listed_with_its_path(api: Api) -> None:
    document = example_component("pytest")
    del document["spec"]["image"]
    document["spec"]["imagee"] = "typo:1"
    document["metadata"]["owner"] = "me"
    response = api.post(f"{NS}/components", document)
    assert response.status_code == 400
    details = error_of(response)["details"]
    assert {"path": "spec", "message": "unknown field 'imagee'"} in details
    assert {"path": "metadata", "message": "unknown field 'owner'"} in details
    assert {"path": "spec", "message": "required field 'image' is missing"} in details
    assert error_of(response)["message"] == "3 problem(s) in the definition"


def test_a_workflow_sent_as_a_component_is_refused_at_kind(api: Api) -> None:
    document = example_component("pytest")
    document["kind"] = "Workflow"
    response = api.post(f"{NS}/components", document)
    assert response.status_code == 400
    assert "kind" in problem_paths(response)


# --- malformed bodies ------------------------------------------------------------------

def test_malformed_json_is_an_invalid_request(api: Api) -> None:
    response = api.send("POST", f"{NS}/components", b'{"apiVersion": ')
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_request"
    assert "not valid JSON" in error_of(response)["message"]


def test_a_json_array_body_is_an_invalid_request(api: Api) -> None:
    response = api.post(f"{NS}/components", [example_component("pytest")])
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_request"
    assert error_of(response)["message"] == "the body must be a JSON object"


def test_an_empty_body_is_an_invalid_request(api: Api) -> None:
    response = api.send("POST", f"{NS}/components", b"")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_request"


def test_a_body_of_two_megabytes_is_too_large(api: Api) -> None:
    document = example_component("pytest")
    document["metadata"]["description"] = "x" * (2 * 1024 * 1024)
    response = api.post(f"{NS}/components", document)
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"
    assert str(MAX_BODY_BYTES) in error_of(response)["message"]
    assert api.get(f"{NS}/components").json_body == {"components": []}


# --- lists and versions ----------------------------------------------------------------

def test_the_list_holds_every_component_of_the_namespace_and_filters_by_name(api: Api) -> None:
    _publish_all(api)
    everything = api.get(f"{NS}/components").json_body["components"]
    assert [entry["name"] for entry in everything] == [
        "flake8-lint", "git-clone", "package", "pytest", "release", "shard-tests"]
    only = api.get(f"{NS}/components?name=pytest").json_body["components"]
    assert [(entry["name"], entry["version"]) for entry in only] == [("pytest", "1.0.0")]
    assert api.get("/api/namespaces/other/components").json_body == {"components": []}


def test_versions_are_listed_in_version_order_not_text_order(api: Api) -> None:
    document = example_component("pytest")
    for version in ("1.10.0", "1.2.0", "1.0.0"):
        assert api.post(f"{NS}/components", _with_version(document, version)).status_code == 201
    response = api.get(f"{NS}/components/pytest/versions")
    assert response.status_code == 200
    assert [entry["version"] for entry in response.json_body["versions"]] == [
        "1.0.0", "1.2.0", "1.10.0"]


def test_the_versions_of_an_unknown_component_are_not_found(api: Api) -> None:
    response = api.get(f"{NS}/components/nothing/versions")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize("path", [
    "/api/namespaces/nowhere/components/pytest/versions/1.0.0",
    f"{NS}/components/nothing/versions/1.0.0",
    f"{NS}/components/pytest/versions/9.9.9",
])
def test_an_unknown_namespace_name_or_version_is_not_found(api: Api, path: str) -> None:
    api.post(f"{NS}/components", example_component("pytest"))
    response = api.get(path)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# --- deprecation -----------------------------------------------------------------------

def test_a_deprecated_version_is_hidden_from_lists_without_deprecated_but_still_readable(api: Api) -> None:
    document = example_component("pytest")
    api.post(f"{NS}/components", document)
    api.post(f"{NS}/components", _with_version(document, "1.1.0"))
    response = api.put(f"{NS}/components/pytest/versions/1.0.0/deprecated", {"deprecated": True})
    assert response.status_code == 200
    assert response.json_body["deprecated"] is True
    assert response.json_body["version"] == "1.0.0"

    hidden = api.get(f"{NS}/components?include_deprecated=false").json_body["components"]
    assert [entry["version"] for entry in hidden] == ["1.1.0"]
    shown = api.get(f"{NS}/components?include_deprecated=true").json_body["components"]
    assert [(e["version"], e["deprecated"]) for e in shown] == [("1.0.0", True), ("1.1.0", False)]
    by_default = api.get(f"{NS}/components").json_body["components"]
    assert len(by_default) == 2
    read = api.get(f"{NS}/components/pytest/versions/1.0.0")
    assert read.status_code == 200
    assert read.json_body["deprecated"] is True
    versions = api.get(f"{NS}/components/pytest/versions").json_body["versions"]
    assert [entry["version"] for entry in versions] == ["1.0.0", "1.1.0"]


def test_a_deprecated_version_can_be_brought_back(api: Api) -> None:
    api.post(f"{NS}/components", example_component("pytest"))
    path = f"{NS}/components/pytest/versions/1.0.0/deprecated"
    api.put(path, {"deprecated": True})
    assert api.put(path, {"deprecated": False}).json_body["deprecated"] is False
    listed = api.get(f"{NS}/components?include_deprecated=false").json_body["components"]
    assert [entry["version"] for entry in listed] == ["1.0.0"]


def test_deprecating_an_unknown_version_is_not_found(api: Api) -> None:
    response = api.put(f"{NS}/components/pytest/versions/1.0.0/deprecated", {"deprecated": True})
    assert response.status_code == 404


@pytest.mark.parametrize("body", [{}, {"deprecated": "yes"}, {"deprecated": 1},
                                  {"deprecated": True, "reason": "old"}])
def test_a_deprecation_body_without_a_plain_boolean_is_an_invalid_request(
    api: Api, body: dict[str, Any]
) -> None:
    api.post(f"{NS}/components", example_component("pytest"))
    response = api.put(f"{NS}/components/pytest/versions/1.0.0/deprecated", body)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_request"
    assert api.get(f"{NS}/components/pytest/versions/1.0.0").json_body["deprecated"] is False


def test_include_deprecated_must_be_true_or_false(api: Api) -> None:
    response = api.get(f"{NS}/components?include_deprecated=maybe")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_request"


def test_an_invalid_name_filter_is_an_invalid_request(api: Api) -> None:
    response = api.get(f"{NS}/components?name=Not_A_Slug")
    assert response.status_code == 400


# --- path ids --------------------------------------------------------------------------

BAD_IDS = ["..%2F..", "..", "a\x00b", "a\x1fb", "a\x7f", "ab%0A", "UPPER", "%2e%2e", "x" * 100]


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.parametrize("template", [
    "/api/namespaces/{bad}/components",
    "/api/namespaces/{bad}/components/pytest/versions",
    "/api/namespaces/{bad}/components/pytest/versions/1.0.0",
    "/api/namespaces/containerops/components/{bad}/versions",
    "/api/namespaces/containerops/components/{bad}/versions/1.0.0",
    "/api/namespaces/containerops/components/pytest/versions/{bad}",
])
def test_a_path_id_that_is_not_a_plain_id_is_an_invalid_request(
    api: Api, template: str, bad: str
) -> None:
    response = api.get(template.format(bad=bad))
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_request"


@pytest.mark.parametrize("bad", ["..%2F..", "a\x01b"])
def test_writes_with_bad_path_ids_are_refused_before_anything_is_stored(api: Api, bad: str) -> None:
    assert api.post(f"/api/namespaces/{bad}/components", example_component("pytest")).status_code == 400
    deprecate = api.put(f"{NS}/components/pytest/versions/{bad}/deprecated", {"deprecated": True})
    assert deprecate.status_code == 400
    assert api.get(f"{NS}/components").json_body == {"components": []}
