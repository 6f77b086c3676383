"""The runs, logs and webhook routes through chalice.test.Client, with a real SQLite store
and a recording dispatcher.

The app is app.py's, which registers the `runs` blueprint: Chalice consumes a blueprint's
route options when it registers it (`methods` and `content_types` are popped), so a second
app registering the same blueprint would get GET-only routes. Testing the real app also
shows the routes living beside the registry's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client

from app import app
from chalicelib.api.context import ApiContext, configure
from chalicelib.api.requests import MAX_BODY_BYTES
from chalicelib.domain.models import Workflow
from chalicelib.domain.states import AttemptState, JobState, RunState
from chalicelib.engine.records import AttemptRecord, LogLine
from chalicelib.engine.rules import REUSED_REASON
from chalicelib.services.dispatch import RecordingDispatcher
from chalicelib.services.webhooks import signature_of
from chalicelib.store.sqlite import SqliteStore
from tests.builders import append_lines, single_job_doc

NS = "/api/namespaces/demo"
JSON = {"Content-Type": "application/json"}


@dataclass
class Api:
    client: Client
    store: SqliteStore
    dispatcher: RecordingDispatcher
    answers: list[Any]

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
             **query: Any) -> Any:
        if query:
            path += "?" + urlencode(query, doseq=True)
        raw = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
        response = self.client.http.request(method, path, headers={**JSON, **(headers or {})}, body=raw)
        self.answers.append(response.body)
        return response

    def save(self, name: str = "ci", namespace: str = "demo", **spec: Any) -> str:
        document = single_job_doc(name="build", **{f"spec__{k}": v for k, v in spec.items()})
        document["metadata"] = {"namespace": namespace, "name": name}
        self.store.save_workflow(Workflow.model_validate(document))
        return self.store.get_workflow_settings(namespace, name).webhook_secret

    def start(self, name: str = "ci", **params: str) -> dict[str, Any]:
        response = self.call("POST", f"{NS}/workflows/{name}/runs", {"params": params})
        assert response.status_code == 201, response.body
        return dict(response.json_body)

    def set_status(self, run_id: str, status: RunState) -> None:
        self.store.save_run(replace(self.store.get_run(run_id), status=status))


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with SqliteStore(tmp_path / "store.db") as store:
        dispatcher = RecordingDispatcher()
        configure(ApiContext(store=store, logs=store, dispatcher=dispatcher))
        with Client(app) as client:
            yield Api(client, store, dispatcher, [])


def error_code(response: Any) -> str:
    return str(response.json_body["error"]["code"])


# --- starting ---------------------------------------------------------------------------


def test_starting_a_run_answers_its_queued_summary_and_submits_it(api: Api) -> None:
    api.save(params=[{"name": "branch", "default": "main"}])
    summary = api.start(branch="dev")
    assert summary["status"] == "queued" and summary["workflow"] == "demo/ci"
    assert summary["params"] == {"branch": "dev"} and summary["workflow_version"] == 1
    assert api.dispatcher.submitted == [summary["id"]]


def test_the_start_body_is_optional(api: Api) -> None:
    api.save()
    response = api.client.http.request("POST", f"{NS}/workflows/ci/runs", headers={}, body=b"")
    assert response.status_code == 201 and response.json_body["params"] == {}


def test_missing_and_unknown_params_are_listed_in_one_400(api: Api) -> None:
    api.save(params=[{"name": "repo", "required": True}])
    response = api.call("POST", f"{NS}/workflows/ci/runs", {"params": {"colour": "red"}})
    assert response.status_code == 400 and error_code(response) == "validation_failed"
    assert sorted(d["path"] for d in response.json_body["error"]["details"]) == [
        "params.colour", "params.repo"]
    assert api.dispatcher.submitted == []


def test_starting_a_disabled_workflow_is_a_409(api: Api) -> None:
    api.save()
    api.store.set_workflow_enabled("demo", "ci", False)
    response = api.call("POST", f"{NS}/workflows/ci/runs")
    assert response.status_code == 409
    assert response.json_body["error"]["message"] == "workflow demo/ci is disabled"


@pytest.mark.parametrize(("path", "body", "status", "code"), [
    (f"{NS}/workflows/nope/runs", None, 404, "not_found"),
    (f"{NS}/workflows/Bad_Name/runs", None, 400, "invalid_request"),
    ("/api/namespaces/..%2Fetc/workflows/ci/runs", None, 400, "invalid_request"),
    (f"{NS}/workflows/ci/runs", b"{not json", 400, "invalid_request"),
    (f"{NS}/workflows/ci/runs", {"params": "x"}, 400, "invalid_request"),
    (f"{NS}/workflows/ci/runs", b"{}" + b" " * MAX_BODY_BYTES, 413, "payload_too_large"),
])
def test_bad_start_requests_are_answered_with_the_error_shape(
    api: Api, path: str, body: Any, status: int, code: str
) -> None:
    api.save()
    response = api.call("POST", path, body)
    assert (response.status_code, error_code(response)) == (status, code)
    assert api.dispatcher.submitted == []


# --- history ----------------------------------------------------------------------------


def history(api: Api, **query: Any) -> Any:
    return api.call("GET", f"{NS}/runs", **query)


def test_history_is_newest_first_and_filters_by_workflow_status_and_time(api: Api) -> None:
    api.save("ci")
    api.save("deploy")
    api.save("ci", namespace="team")
    ids = [api.start("ci")["id"], api.start("deploy")["id"], api.start("ci")["id"]]
    api.set_status(ids[2], RunState.FAILED)
    api.call("POST", "/api/namespaces/team/workflows/ci/runs")

    def ids_of(**query: Any) -> list[str]:
        response = history(api, **query)
        assert response.status_code == 200, response.body
        return [run["id"] for run in response.json_body["runs"]]

    assert ids_of() == list(reversed(ids))
    assert ids_of(workflow="deploy") == [ids[1]]
    assert ids_of(status="failed") == [ids[2]]
    assert ids_of(status=["failed", "queued"]) == list(reversed(ids))
    second = api.store.get_run(ids[1]).created_at
    assert ids_of(created_after=second) == [ids[2], ids[1]]
    assert ids_of(created_before=second) == [ids[0]]


def test_cursor_pages_give_every_run_exactly_once(api: Api) -> None:
    api.save()
    started = [api.start()["id"] for _ in range(5)]
    seen: list[str] = []
    query: dict[str, Any] = {"limit": 2}
    while True:
        page = history(api, **query).json_body
        seen.extend(run["id"] for run in page["runs"])
        if page["next_cursor"] is None:
            break
        query["cursor"] = page["next_cursor"]
    assert sorted(seen) == sorted(started) and len(seen) == len(started)
    assert seen == sorted(started, key=lambda i: api.store.get_run(i).created_at, reverse=True)


@pytest.mark.parametrize("query", [
    {"cursor": "garbage!"}, {"status": "done"}, {"created_after": "last week"}, {"limit": "0"},
    {"limit": "many"}, {"workflow": "../x"},
])
def test_a_bad_history_query_is_a_400(api: Api, query: dict[str, str]) -> None:
    api.save()
    api.start()
    response = history(api, **query)
    assert (response.status_code, error_code(response)) == (400, "invalid_request")


# --- detail, cancel, rerun --------------------------------------------------------------


def test_the_run_document_shows_jobs_and_attempts(api: Api) -> None:
    api.save()
    run_id = api.start()["id"]
    api.store.save_attempt(AttemptRecord(run_id, "build", 1, status=AttemptState.FAILED,
                                         exit_code=3, reason="exit code 3"))
    document = api.call("GET", f"{NS}/runs/{run_id}").json_body
    assert document["id"] == run_id
    [job] = document["jobs"]
    assert job["name"] == "build"
    assert job["attempt_history"][0]["exit_code"] == 3


def test_a_run_of_another_namespace_is_a_404(api: Api) -> None:
    api.save(namespace="team")
    run_id = api.call("POST", "/api/namespaces/team/workflows/ci/runs").json_body["id"]
    for method, suffix in (("GET", ""), ("POST", "/cancel"), ("POST", "/rerun"),
                           ("GET", "/jobs/build/attempts/1/logs")):
        response = api.call(method, f"{NS}/runs/{run_id}{suffix}")
        assert (response.status_code, error_code(response)) == (404, "not_found"), suffix
    assert api.store.get_run(run_id).cancel_requested is False


@pytest.mark.parametrize("run_id", ["not-a-run", "20231114-221320-XYZ", "..%2F..%2Fetc"])
def test_a_malformed_run_id_is_a_400(api: Api, run_id: str) -> None:
    response = api.call("GET", f"{NS}/runs/{run_id}")
    assert (response.status_code, error_code(response)) == (400, "invalid_request")


def test_cancel_sets_the_flag_and_calls_the_dispatcher(api: Api) -> None:
    api.save()
    run_id = api.start()["id"]
    response = api.call("POST", f"{NS}/runs/{run_id}/cancel")
    assert response.status_code == 202 and response.json_body["id"] == run_id
    assert api.store.get_run(run_id).cancel_requested
    assert api.dispatcher.cancelled == [run_id]


def test_re_running_a_succeeded_run_is_a_409(api: Api) -> None:
    api.save()
    run_id = api.start()["id"]
    api.set_status(run_id, RunState.SUCCEEDED)
    response = api.call("POST", f"{NS}/runs/{run_id}/rerun")
    assert (response.status_code, error_code(response)) == (409, "conflict")
    assert api.dispatcher.submitted == [run_id]


def test_re_running_a_failed_run_starts_a_new_run_that_points_back(api: Api) -> None:
    api.save()
    run_id = api.start()["id"]
    api.set_status(run_id, RunState.FAILED)
    response = api.call("POST", f"{NS}/runs/{run_id}/rerun")
    assert response.status_code == 201
    assert response.json_body["rerun_of"] == run_id and response.json_body["status"] == "queued"
    assert api.dispatcher.submitted == [run_id, response.json_body["id"]]


@pytest.mark.parametrize(("body", "scope"), [
    ({"scope": "all"}, {"scope": "all"}),
    ({"scope": "jobs", "jobs": ["build"]}, {"scope": "jobs", "jobs": ["build"]}),
])
def test_a_succeeded_run_is_re_run_in_full_or_in_part_and_the_answer_says_its_scope(
    api: Api, body: dict[str, Any], scope: dict[str, Any]
) -> None:
    api.save()
    run_id = api.start()["id"]
    api.set_status(run_id, RunState.SUCCEEDED)
    response = api.call("POST", f"{NS}/runs/{run_id}/rerun", body)
    assert response.status_code == 201, response.body
    assert (response.json_body["rerun_of"], response.json_body["rerun_scope"]) == (run_id, scope)
    document = api.call("GET", f"{NS}/runs/{response.json_body['id']}").json_body
    assert document["rerun_scope"] == scope
    assert api.dispatcher.submitted == [run_id, response.json_body["id"]]


@pytest.mark.parametrize("body", [None, {}, {"scope": "failed"}])
def test_no_body_an_empty_one_and_scope_failed_all_re_run_from_failure(api: Api, body: Any) -> None:
    api.save()
    run_id = api.start()["id"]
    api.set_status(run_id, RunState.FAILED)
    response = api.call("POST", f"{NS}/runs/{run_id}/rerun", body)
    assert response.status_code == 201
    assert response.json_body["rerun_scope"] == {"scope": "failed"}


def test_a_run_that_is_no_re_run_has_a_null_scope(api: Api) -> None:
    api.save()
    assert api.start()["rerun_scope"] is None


@pytest.mark.parametrize("body", [{"scope": "all"}, {"scope": "jobs", "jobs": ["build"]}])
def test_re_running_a_run_still_running_is_a_409_in_every_scope(api: Api, body: dict[str, Any]) -> None:
    api.save()
    run_id = api.start()["id"]
    api.set_status(run_id, RunState.RUNNING)
    response = api.call("POST", f"{NS}/runs/{run_id}/rerun", body)
    assert (response.status_code, error_code(response)) == (409, "conflict")
    assert api.dispatcher.submitted == [run_id]


@pytest.mark.parametrize(("body", "says"), [
    ({"scope": "jobs", "jobs": ["deploy"]}, "has no job 'deploy' to re-run"),
    ({"scope": "jobs", "jobs": []}, "'jobs' is empty"),
    ({"scope": "all", "again": True}, "unknown field(s) in the body: again"),
    ({"scope": "everything"}, "'scope' must be one of failed, all, jobs"),
    (b"[1]", "the body must be a JSON object"),
])
def test_a_bad_re_run_request_is_a_400_that_says_why(api: Api, body: Any, says: str) -> None:
    api.save()
    run_id = api.start()["id"]
    api.set_status(run_id, RunState.SUCCEEDED)
    response = api.call("POST", f"{NS}/runs/{run_id}/rerun", body)
    assert (response.status_code, error_code(response)) == (400, "invalid_request")
    assert says in response.json_body["error"]["message"]
    assert api.dispatcher.submitted == [run_id]


def test_a_reused_job_says_which_run_and_attempt_did_its_work(api: Api) -> None:
    api.save()
    first = api.start()["id"]
    [job] = api.store.list_jobs(first)
    api.store.save_job(replace(job, status=JobState.SUCCEEDED, attempts=2))
    api.set_status(first, RunState.FAILED)
    rerun = api.call("POST", f"{NS}/runs/{first}/rerun").json_body["id"]
    [again] = api.store.list_jobs(rerun)
    api.store.save_job(replace(again, status=JobState.REUSED, reason=REUSED_REASON))
    document = api.call("GET", f"{NS}/runs/{rerun}").json_body
    assert [(j["name"], j["reason"], j["reused_from"]) for j in document["jobs"]] == [
        (job.name, "reused: it succeeded in the run this one re-runs", {"run": first, "attempt": 2})]
    assert api.call("GET", f"{NS}/runs/{first}").json_body["jobs"][0]["reused_from"] is None


# --- logs -------------------------------------------------------------------------------


def test_logs_are_read_by_cursor_with_cout_lines_marked(api: Api) -> None:
    api.save()
    run_id = api.start()["id"]
    api.store.save_attempt(AttemptRecord(run_id, "build", 1))
    append_lines(api.store, [
        LogLine(run_id, "build", 1, 1, 10.0, "building"),
        LogLine(run_id, "build", 1, 2, 11.0, "[COUT] IMAGE = app:1", is_cout=True, stream="stdout"),
        LogLine(run_id, "build", 1, 3, 12.0, "done"),
    ])
    path = f"{NS}/runs/{run_id}/jobs/build/attempts/1/logs"
    page = api.call("GET", path, after=1, limit=1).json_body
    assert page == {"lines": [{"seq": 2, "time": 11.0, "text": "[COUT] IMAGE = app:1", "cout": True,
                               "stream": "stdout"}],
                    "next_after": 2, "cursor": "", "done": False}
    api.store.save_attempt(AttemptRecord(run_id, "build", 1, status=AttemptState.SUCCEEDED))
    page = api.call("GET", path, after=2, follow=20).json_body  # finished: answers at once
    assert [line["text"] for line in page["lines"]] == ["done"] and page["done"] is True


@pytest.mark.parametrize(("suffix", "query"), [
    ("/jobs/build/attempts/1/logs", {"follow": "21"}),
    ("/jobs/build/attempts/1/logs", {"follow": "soon"}),
    ("/jobs/build/attempts/1/logs", {"limit": "5001"}),
    ("/jobs/build/attempts/1/logs", {"after": "-1"}),
    ("/jobs/build/attempts/x/logs", {}),
    ("/jobs/bad%20job/attempts/1/logs", {}),
])
def test_bad_log_requests_are_a_400(api: Api, suffix: str, query: dict[str, str]) -> None:
    api.save()
    run_id = api.start()["id"]
    response = api.call("GET", f"{NS}/runs/{run_id}{suffix}", **query)
    assert (response.status_code, error_code(response)) == (400, "invalid_request")


# --- webhooks ---------------------------------------------------------------------------


WEBHOOK = f"{NS}/workflows/ci/webhook"
PUSH = json.dumps({"ref": "refs/heads/main", "after": "b6aa706"}).encode()


def signed(secret: str, body: bytes = PUSH, **headers: str) -> dict[str, str]:
    return {"X-Hub-Signature-256": signature_of(body, secret), **headers}


def test_a_valid_webhook_starts_a_run_with_the_body_fields_in_its_trigger(api: Api) -> None:
    secret = api.save(triggers=[{"type": "webhook"}])
    response = api.call("POST", WEBHOOK, PUSH, signed(secret, **{"X-GitHub-Event": "push"}))
    assert response.status_code == 202 and response.json_body["status"] == "queued"
    run = api.store.get_run(response.json_body["id"])
    assert run.trigger == {"type": "webhook", "event": "push", "ref": "refs/heads/main",
                           "after": "b6aa706"}
    assert api.dispatcher.submitted == [run.id]


def test_a_forged_signature_is_a_401_and_starts_nothing(api: Api) -> None:
    api.save(triggers=[{"type": "webhook"}])
    for headers in ({}, signed("guessed"), {"X-Hub-Signature-256": "sha256=zz"}):
        response = api.call("POST", WEBHOOK, PUSH, headers)
        assert (response.status_code, error_code(response)) == (401, "unauthorized")
    assert api.store.list_runs().runs == [] and api.dispatcher.submitted == []


def test_a_replayed_delivery_is_a_duplicate_and_starts_no_second_run(api: Api) -> None:
    secret = api.save(triggers=[{"type": "webhook"}])
    headers = signed(secret, **{"X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"})
    assert api.call("POST", WEBHOOK, PUSH, headers).status_code == 202
    again = api.call("POST", WEBHOOK, PUSH, headers)
    assert (again.status_code, again.json_body) == (200, {"duplicate": True})
    assert len(api.store.list_runs().runs) == 1 and len(api.dispatcher.submitted) == 1


def test_a_webhook_to_a_disabled_workflow_is_a_409(api: Api) -> None:
    secret = api.save(triggers=[{"type": "webhook"}])
    api.store.set_workflow_enabled("demo", "ci", False)
    response = api.call("POST", WEBHOOK, PUSH, signed(secret))
    assert (response.status_code, error_code(response)) == (409, "conflict")


def test_a_form_encoded_webhook_is_a_400_not_a_415(api: Api) -> None:
    secret = api.save(triggers=[{"type": "webhook"}])
    body = b"payload=%7B%7D"
    headers = signed(secret, body, **{"Content-Type": "application/x-www-form-urlencoded"})
    response = api.call("POST", WEBHOOK, body, headers)
    assert (response.status_code, error_code(response)) == (400, "invalid_request")


def test_no_answer_and_no_log_line_shows_the_webhook_secret(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    secret = api.save(triggers=[{"type": "webhook"}])
    api.call("POST", WEBHOOK, PUSH, signed("guessed"))
    api.call("POST", WEBHOOK, b"{", signed(secret, b"{"))
    api.call("POST", WEBHOOK, PUSH, signed(secret, **{"X-GitHub-Delivery": "d"}))
    api.call("POST", WEBHOOK, PUSH, signed(secret, **{"X-GitHub-Delivery": "d"}))
    run_id = api.store.list_runs().runs[0].id
    api.call("GET", f"{NS}/runs/{run_id}")
    api.call("GET", f"{NS}/runs")
    assert len(api.answers) == 6
    assert all(secret.encode() not in answer for answer in api.answers)
    assert secret not in caplog.text
