"""Workflows over HTTP: create, check, read, save new versions, export, enable, delete."""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

import pytest
import yaml
from chalice.config import Config
from chalice.local import LocalGateway

from app import app
from chalicelib.domain.models import Workflow, dump_definition
from tests.api.conftest import (
    JSON,
    Api,
    error_of,
    example_components,
    example_workflow,
    problem_paths,
)

NS = "/api/namespaces/examples"
CI = f"{NS}/workflows/ci"


@pytest.fixture
def components(api: Api) -> None:
    """The registry holds the example components the ci workflow uses."""
    for document in example_components():
        assert api.post("/api/namespaces/containerops/components", document).status_code == 201


@pytest.fixture
def created(api: Api, components: None) -> dict[str, Any]:
    response = api.post(f"{NS}/workflows", example_workflow("ci"))
    assert response.status_code == 201, response.body
    body: dict[str, Any] = response.json_body
    return body


def _described(document: dict[str, Any], description: str) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    changed["metadata"]["description"] = description
    return changed


def _update(api: Api, expected: int, definition: dict[str, Any]) -> Any:
    return api.put(CI, {"expected_version": expected, "definition": definition})


# --- create ----------------------------------------------------------------------------

def test_creating_a_workflow_answers_version_one_enabled_with_its_webhook_secret(
    created: dict[str, Any]
) -> None:
    assert created["namespace"] == "examples"
    assert created["name"] == "ci"
    assert created["version"] == 1
    assert created["enabled"] is True
    assert len(created["webhook_secret"]) >= 32
    assert Workflow.model_validate(created["definition"]) == Workflow.model_validate(
        example_workflow("ci"))


def test_every_example_workflow_can_be_created(api: Api, components: None) -> None:
    for name in ("ci", "hello", "failing", "retry"):
        response = api.post(f"{NS}/workflows", example_workflow(name))
        assert response.status_code == 201, response.body
        assert response.json_body["name"] == name


def test_creating_a_workflow_that_exists_is_a_conflict(api: Api, created: dict[str, Any]) -> None:
    response = api.post(f"{NS}/workflows", _described(example_workflow("ci"), "another"))
    assert response.status_code == 409
    assert error_of(response)["code"] == "conflict"
    assert "already exists" in error_of(response)["message"]
    assert api.get(CI).json_body["version"] == 1


def test_a_workflow_using_an_unknown_component_lists_the_problem_at_its_path(api: Api) -> None:
    response = api.post(f"{NS}/workflows", example_workflow("ci"))
    assert response.status_code == 400
    assert error_of(response)["code"] == "validation_failed"
    details = error_of(response)["details"]
    assert {"path": "spec.stages[0].actions[0].jobs[0].component",
            "message": "unknown component containerops/git-clone"} in details
    assert len(details) == 5  # each of the five jobs names a component the registry lacks
    assert api.get(CI).status_code == 404


def test_every_unknown_field_is_listed(api: Api, components: None) -> None:
    document = example_workflow("ci")
    document["metadata"]["owner"] = "me"
    document["spec"]["colour"] = "red"
    document["spec"]["stages"][1]["actions"][0]["jobs"][0]["retry"] = 3
    response = api.post(f"{NS}/workflows", document)
    assert response.status_code == 400
    messages = {(d["path"], d["message"]) for d in error_of(response)["details"]}
    assert messages == {
        ("metadata", "unknown field 'owner'"),
        ("spec", "unknown field 'colour'"),
        ("spec.stages[1].actions[0].jobs[0]", "unknown field 'retry'"),
    }


def test_a_workflow_sent_to_another_namespace_is_refused_at_metadata_namespace(
    api: Api, components: None
) -> None:
    response = api.post("/api/namespaces/elsewhere/workflows", example_workflow("ci"))
    assert response.status_code == 400
    assert problem_paths(response) == ["metadata.namespace"]
    assert api.get("/api/namespaces/elsewhere/workflows").json_body == {"workflows": []}


def test_a_workflow_cannot_take_the_name_of_the_check_route(api: Api) -> None:
    document = example_workflow("hello")
    document["metadata"]["name"] = "check"
    response = api.post(f"{NS}/workflows", document)
    assert response.status_code == 400
    assert problem_paths(response) == ["metadata.name"]


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'"text"', b"", b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_an_invalid_request(api: Api, raw: bytes) -> None:
    response = api.send("POST", f"{NS}/workflows", raw)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_request"


def test_a_body_of_two_megabytes_is_too_large(api: Api) -> None:
    document = example_workflow("hello")
    document["metadata"]["description"] = "x" * (2 * 1024 * 1024)
    for method, path in (("POST", f"{NS}/workflows"), ("POST", f"{NS}/workflows/check"),
                         ("PUT", f"{NS}/workflows/hello")):
        response = api.send(method, path, json.dumps(document).encode())
        assert response.status_code == 413, path
        assert error_of(response)["code"] == "payload_too_large"


# --- check -----------------------------------------------------------------------------

def test_check_answers_valid_for_a_good_workflow_and_never_saves_it(api: Api, components: None) -> None:
    response = api.post(f"{NS}/workflows/check", example_workflow("ci"))
    assert response.status_code == 200
    assert response.json_body == {"valid": True, "problems": []}
    assert api.get(CI).status_code == 404
    assert api.get(f"{NS}/workflows").json_body == {"workflows": []}


def test_check_lists_every_problem_with_its_path_and_never_saves(api: Api) -> None:
    document = example_workflow("ci")
    document["spec"]["colour"] = "red"
    response = api.post("/api/namespaces/other/workflows/check", document)
    assert response.status_code == 200
    assert response.json_body["valid"] is False
    paths = [problem["path"] for problem in response.json_body["problems"]]
    assert "spec" in paths
    assert "metadata.namespace" in paths
    assert "spec.stages[0].actions[0].jobs[0].component" in paths
    assert all(set(problem) == {"path", "message"} for problem in response.json_body["problems"])
    assert api.get(f"{NS}/workflows").json_body == {"workflows": []}


def test_check_of_a_body_that_is_not_an_object_is_an_invalid_request(api: Api) -> None:
    response = api.send("POST", f"{NS}/workflows/check", b"[1, 2]")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_request"


# --- read ------------------------------------------------------------------------------

def test_get_answers_the_latest_version_or_the_one_asked_for(
    api: Api, created: dict[str, Any]
) -> None:
    _update(api, 1, _described(example_workflow("ci"), "second"))
    latest = api.get(CI)
    assert latest.status_code == 200
    assert set(latest.json_body) == {"namespace", "name", "version", "enabled", "created_at", "definition"}
    assert latest.json_body["version"] == 2
    assert latest.json_body["definition"]["metadata"]["description"] == "second"
    first = api.get(f"{CI}?version=1")
    assert first.json_body["version"] == 1
    assert first.json_body["definition"] == created["definition"]


@pytest.mark.parametrize("path", [f"{NS}/workflows/nothing", f"{CI}?version=7",
                                  "/api/namespaces/nowhere/workflows/ci",
                                  f"{NS}/workflows/nothing/yaml", f"{CI}/yaml?version=7"])
def test_an_unknown_namespace_name_or_version_is_not_found(
    api: Api, created: dict[str, Any], path: str
) -> None:
    response = api.get(path)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize("query", ["version=0", "version=-1", "version=two", "version=1.5"])
def test_a_version_that_is_not_a_positive_whole_number_is_an_invalid_request(
    api: Api, created: dict[str, Any], query: str
) -> None:
    assert api.get(f"{CI}?{query}").status_code == 400
    assert api.get(f"{CI}/yaml?{query}").status_code == 400


def test_the_list_summarises_each_workflow(api: Api, created: dict[str, Any]) -> None:
    api.post(f"{NS}/workflows", example_workflow("hello"))
    response = api.get(f"{NS}/workflows")
    assert response.status_code == 200
    summaries = response.json_body["workflows"]
    assert [s["name"] for s in summaries] == ["ci", "hello"]
    ci = summaries[0]
    assert set(ci) == {"namespace", "name", "version", "description", "enabled", "created_at", "jobs",
                       "last_run"}
    assert (ci["namespace"], ci["version"], ci["enabled"], ci["jobs"]) == ("examples", 1, True, 5)
    assert ci["last_run"] is None  # never run
    assert ci["description"].startswith("Clone, lint, test")
    assert api.get("/api/namespaces/other/workflows").json_body == {"workflows": []}


def test_the_list_shows_each_workflows_newest_run(api: Api, created: dict[str, Any]) -> None:
    first = api.post(f"{NS}/workflows/ci/runs", {"params": {"repo-dir": "/r", "release-dir": "/d"}})
    second = api.post(f"{NS}/workflows/ci/runs", {"params": {"repo-dir": "/r", "release-dir": "/d"}})
    assert first.status_code == second.status_code == 201, first.json_body
    [ci] = api.get(f"{NS}/workflows").json_body["workflows"]
    assert ci["last_run"]["id"] == second.json_body["id"] and ci["last_run"]["status"] == "queued"


# --- update ----------------------------------------------------------------------------

def test_an_update_from_the_latest_version_saves_the_next_one(api: Api, created: dict[str, Any]) -> None:
    response = _update(api, 1, _described(example_workflow("ci"), "second"))
    assert response.status_code == 200
    assert response.json_body["version"] == 2
    assert response.json_body["definition"]["metadata"]["description"] == "second"
    assert api.get(f"{NS}/workflows").json_body["workflows"][0]["version"] == 2


def test_an_update_from_a_stale_version_is_a_conflict_and_both_versions_stay(
    api: Api, created: dict[str, Any]
) -> None:
    assert _update(api, 1, _described(example_workflow("ci"), "second")).status_code == 200
    stale = _update(api, 1, _described(example_workflow("ci"), "lost edit"))
    assert stale.status_code == 409
    message = error_of(stale)["message"]
    assert "version 1" in message
    assert "version 2" in message
    assert api.get(f"{CI}?version=1").json_body["definition"] == created["definition"]
    assert api.get(f"{CI}?version=2").json_body["definition"]["metadata"]["description"] == "second"
    assert api.get(CI).json_body["version"] == 2
    assert api.get(f"{CI}?version=3").status_code == 404


def test_two_clients_saving_at_once_from_the_same_version_one_wins_and_none_is_lost(
    api: Api, created: dict[str, Any]
) -> None:
    # Straight to the local gateway: chalice.test swaps os.environ per request, which is
    # not safe across threads; the gateway is what the local server calls per request.
    gateway = LocalGateway(app, Config.create())
    barrier = threading.Barrier(2)
    answers: dict[str, dict[str, Any]] = {}

    def save(description: str) -> None:
        body = {"expected_version": 1, "definition": _described(example_workflow("ci"), description)}
        barrier.wait()
        answers[description] = gateway.handle_request(
            method="PUT", path=CI, headers=JSON, body=json.dumps(body).encode())

    threads = [threading.Thread(target=save, args=(name,)) for name in ("alice", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(answer["statusCode"] for answer in answers.values())
    assert statuses == [200, 409]
    winner = next(name for name, answer in answers.items() if answer["statusCode"] == 200)
    assert json.loads(answers[winner]["body"])["definition"]["metadata"]["description"] == winner
    latest = api.get(CI).json_body
    assert latest["version"] == 2
    assert latest["definition"]["metadata"]["description"] == winner
    assert api.get(f"{CI}?version=1").json_body["definition"] == created["definition"]


def test_an_update_must_keep_the_workflow_name_and_namespace(api: Api, created: dict[str, Any]) -> None:
    renamed = example_workflow("ci")
    renamed["metadata"]["name"] = "ci2"
    response = _update(api, 1, renamed)
    assert response.status_code == 400
    assert problem_paths(response) == ["metadata.name"]
    moved = example_workflow("ci")
    moved["metadata"]["namespace"] = "other"
    response = _update(api, 1, moved)
    assert response.status_code == 400
    assert problem_paths(response) == ["metadata.namespace"]
    assert api.get(CI).json_body["version"] == 1


def test_an_invalid_update_lists_its_problems_and_saves_nothing(api: Api, created: dict[str, Any]) -> None:
    document = example_workflow("ci")
    document["spec"]["stages"][3]["actions"][0]["jobs"][0]["data"]["artifact"] = (
        "${{ jobs.release.outputs.URL }}")
    response = _update(api, 1, document)
    assert response.status_code == 400
    assert "spec.stages[3].actions[0].jobs[0].data.artifact" in problem_paths(response)
    assert api.get(CI).json_body["version"] == 1


def test_updating_a_workflow_that_was_never_created_is_not_found(api: Api, components: None) -> None:
    response = _update(api, 1, example_workflow("ci"))
    assert response.status_code == 404


@pytest.mark.parametrize("body", [
    {"definition": {}},
    {"expected_version": "1", "definition": {}},
    {"expected_version": True, "definition": {}},
    {"expected_version": -1, "definition": {}},
    {"expected_version": 1},
    {"expected_version": 1, "definition": []},
    {"expected_version": 1, "definition": {}, "force": True},
])
def test_an_update_body_of_the_wrong_shape_is_an_invalid_request(
    api: Api, created: dict[str, Any], body: dict[str, Any]
) -> None:
    response = api.put(CI, body)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_request"


# --- export ----------------------------------------------------------------------------

def test_the_yaml_export_round_trips_through_the_models(api: Api, created: dict[str, Any]) -> None:
    response = api.get(f"{CI}/yaml")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/yaml")
    text = response.body.decode("utf-8")
    exported = Workflow.model_validate(yaml.safe_load(text))
    assert exported == Workflow.model_validate(example_workflow("ci"))
    assert dump_definition(exported) == created["definition"]
    assert text.startswith("apiVersion: containerops/v1\nkind: Workflow\n")


def test_the_yaml_export_of_an_older_version(api: Api, created: dict[str, Any]) -> None:
    _update(api, 1, _described(example_workflow("ci"), "second"))
    older = yaml.safe_load(api.get(f"{CI}/yaml?version=1").body)
    newer = yaml.safe_load(api.get(f"{CI}/yaml").body)
    assert older["metadata"]["description"].startswith("Clone, lint")
    assert newer["metadata"]["description"] == "second"


# --- the list of versions --------------------------------------------------------------

def test_the_versions_are_listed_newest_first_with_when_each_was_saved(
    api: Api, created: dict[str, Any]
) -> None:
    _update(api, 1, _described(example_workflow("ci"), "second"))
    response = api.get(f"{CI}/versions")
    assert response.status_code == 200
    body = response.json_body
    assert (body["namespace"], body["name"]) == ("examples", "ci")
    assert [(v["version"], v["latest"]) for v in body["versions"]] == [(2, True), (1, False)]
    assert body["versions"][1]["created_at"] == created["created_at"]
    assert body["versions"][0]["created_at"] == api.get(CI).json_body["created_at"]


def test_the_versions_of_an_unknown_or_deleted_workflow_are_not_found(
    api: Api, created: dict[str, Any]
) -> None:
    assert api.get(f"{NS}/workflows/nothing/versions").status_code == 404
    api.delete(CI)
    response = api.get(f"{CI}/versions")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# --- enable, delete --------------------------------------------------------------------

def test_a_disabled_workflow_says_so_in_its_summary_and_can_be_enabled_again(
    api: Api, created: dict[str, Any]
) -> None:
    response = api.put(f"{CI}/enabled", {"enabled": False})
    assert response.status_code == 200
    assert response.json_body["enabled"] is False
    assert response.json_body["jobs"] == 5
    assert api.get(f"{NS}/workflows").json_body["workflows"][0]["enabled"] is False
    assert api.get(CI).json_body["enabled"] is False
    assert api.put(f"{CI}/enabled", {"enabled": True}).json_body["enabled"] is True
    assert api.get(CI).json_body["enabled"] is True


@pytest.mark.parametrize("body", [{}, {"enabled": "false"}, {"enabled": 0}, {"enabled": False, "x": 1}])
def test_an_enabled_body_without_a_plain_boolean_is_an_invalid_request(
    api: Api, created: dict[str, Any], body: dict[str, Any]
) -> None:
    assert api.put(f"{CI}/enabled", body).status_code == 400
    assert api.get(CI).json_body["enabled"] is True


def test_enabling_an_unknown_workflow_is_not_found(api: Api) -> None:
    assert api.put(f"{NS}/workflows/nothing/enabled", {"enabled": True}).status_code == 404


def test_a_deleted_workflow_is_gone_but_its_versions_stay_readable_by_number(
    api: Api, created: dict[str, Any]
) -> None:
    deleted = api.delete(CI)
    assert deleted.status_code == 204
    assert deleted.body == b""
    assert api.get(CI).status_code == 404
    assert api.get(f"{CI}/yaml").status_code == 404
    assert api.get(f"{NS}/workflows").json_body == {"workflows": []}
    assert api.put(f"{CI}/enabled", {"enabled": True}).status_code == 404
    assert _update(api, 1, example_workflow("ci")).status_code == 404
    # Runs pinned to a version keep showing the definition they ran.
    pinned = api.get(f"{CI}?version=1")
    assert pinned.status_code == 200
    assert pinned.json_body["definition"] == created["definition"]
    assert pinned.json_body["enabled"] is False
    assert api.get(f"{CI}/yaml?version=1").status_code == 200


def test_deleting_twice_or_an_unknown_workflow_is_not_found(api: Api, created: dict[str, Any]) -> None:
    assert api.delete(CI).status_code == 204
    assert api.delete(CI).status_code == 404
    assert api.delete(f"{NS}/workflows/nothing").status_code == 404


def test_a_deleted_workflow_created_again_continues_its_version_numbers(
    api: Api, created: dict[str, Any]
) -> None:
    api.delete(CI)
    again = api.post(f"{NS}/workflows", _described(example_workflow("ci"), "again"))
    assert again.status_code == 201
    assert again.json_body["version"] == 2
    assert api.get(f"{CI}?version=1").json_body["definition"] == created["definition"]


# --- the webhook secret ----------------------------------------------------------------

def test_the_webhook_secret_appears_only_in_the_create_answer(api: Api, created: dict[str, Any]) -> None:
    secret = created["webhook_secret"]
    answers = [
        api.get(CI), api.get(f"{CI}?version=1"), api.get(f"{NS}/workflows"), api.get(f"{CI}/yaml"),
        api.put(f"{CI}/enabled", {"enabled": True}),
        _update(api, 1, _described(example_workflow("ci"), "second")),
    ]
    for response in answers:
        assert response.status_code == 200
        assert secret not in response.body.decode("utf-8")
        assert b"webhook_secret" not in response.body


# --- path ids --------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["..%2F..", "a\x00b", "a\x1b[31m", "Ci", "ab%0A"])
@pytest.mark.parametrize("method, template", [
    ("GET", "/api/namespaces/{bad}/workflows"),
    ("POST", "/api/namespaces/{bad}/workflows"),
    ("POST", "/api/namespaces/{bad}/workflows/check"),
    ("GET", "/api/namespaces/examples/workflows/{bad}"),
    ("PUT", "/api/namespaces/examples/workflows/{bad}"),
    ("DELETE", "/api/namespaces/examples/workflows/{bad}"),
    ("GET", "/api/namespaces/examples/workflows/{bad}/yaml"),
    ("GET", "/api/namespaces/examples/workflows/{bad}/versions"),
    ("PUT", "/api/namespaces/examples/workflows/{bad}/enabled"),
])
def test_a_path_id_that_is_not_a_plain_id_is_an_invalid_request(
    api: Api, created: dict[str, Any], method: str, template: str, bad: str
) -> None:
    body = {"expected_version": 1, "definition": example_workflow("ci"), "enabled": False}
    response = api.send(method, template.format(bad=bad), json.dumps(body).encode())
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_request"
    assert "\x1b" not in error_of(response)["message"]
    assert api.get(CI).json_body["version"] == 1
