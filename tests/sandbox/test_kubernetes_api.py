"""The harness's Kubernetes API (chalicelib/sandbox/kubernetes_api.py), driven with the official
client as the EKS adapter drives a cluster: what it stores and answers for Jobs, pods and events,
its Status errors, its paging, its token check and the faults tests make it answer. These Jobs
get no pod: the harness runs without a node here (tests/sandbox/test_kubelet.py runs them)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from chalicelib.sandbox.kubernetes_api import KubernetesApi
from tests.sandbox.kubernetes_clients import NAMESPACE, Clients, a_job, clients, error_of, raw, token


@pytest.fixture
def api() -> Iterator[KubernetesApi]:
    with KubernetesApi() as opened:
        yield opened


@pytest.fixture
def k8s(api: KubernetesApi) -> Iterator[Clients]:
    opened = clients(api.url, token())
    yield opened
    opened.close()


def create(k8s: Clients, job: dict) -> dict:
    return raw(k8s.batch.create_namespaced_job, NAMESPACE, job)


# --- create and read -----------------------------------------------------------------------------


def test_a_created_job_is_answered_201_with_the_fields_the_api_server_fills_in(api, k8s) -> None:
    _, code, _ = k8s.batch.create_namespaced_job_with_http_info(NAMESPACE, a_job(), _preload_content=False)
    stored = api.jobs()[0]
    assert code == 201
    metadata, spec = stored["metadata"], stored["spec"]
    uid = metadata["uid"]
    assert (stored["kind"], stored["apiVersion"], stored["status"]) == ("Job", "batch/v1", {})
    assert metadata["resourceVersion"].isdigit() and metadata["generation"] == 1
    assert metadata["creationTimestamp"].endswith("Z")
    assert (spec["completions"], spec["parallelism"], spec["suspend"]) == (1, 1, False)
    assert spec["backoffLimit"] == 0  # the Job's own
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    labels = spec["template"]["metadata"]["labels"]
    assert {"batch.kubernetes.io/job-name": metadata["name"], "job-name": metadata["name"],
            "batch.kubernetes.io/controller-uid": uid, "controller-uid": uid}.items() <= labels.items()
    assert labels["containerops.dev/job"] == "build"


def test_a_bare_job_gets_the_api_servers_defaults_and_its_template_labels(k8s) -> None:
    bare = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "bare"},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "main", "image": "busybox"}]}}}}
    stored = create(k8s, bare)
    spec = stored["spec"]
    assert (spec["backoffLimit"], spec["completionMode"], spec["podReplacementPolicy"]) == (
        6, "NonIndexed", "TerminatingOrFailed")
    assert stored["metadata"]["labels"]["job-name"] == "bare"  # a Job without labels gets its pods'
    pod_spec = spec["template"]["spec"]
    assert (pod_spec["terminationGracePeriodSeconds"], pod_spec["dnsPolicy"]) == (30, "ClusterFirst")
    assert pod_spec["containers"][0]["imagePullPolicy"] == "Always"  # no tag: latest


def test_a_created_job_reads_back_as_it_was_answered(k8s) -> None:
    created = create(k8s, a_job())
    assert raw(k8s.batch.read_namespaced_job, created["metadata"]["name"], NAMESPACE) == created


def test_creating_a_job_that_exists_is_a_409_already_exists(api, k8s) -> None:
    create(k8s, a_job())
    with pytest.raises(ApiException) as raised:
        create(k8s, a_job())
    assert raised.value.status == 409
    status = error_of(raised)
    assert (status["kind"], status["status"], status["reason"]) == ("Status", "Failure", "AlreadyExists")
    assert status["message"] == f'jobs.batch "{a_job()["metadata"]["name"]}" already exists'
    assert len(api.jobs()) == 1


def test_a_job_without_containers_is_a_422_naming_the_field(k8s) -> None:
    job = a_job()
    job["spec"]["template"]["spec"]["containers"] = []
    with pytest.raises(ApiException) as raised:
        create(k8s, job)
    status = error_of(raised)
    assert (raised.value.status, status["reason"]) == (422, "Invalid")
    assert status["message"] == (f'Job.batch "{job["metadata"]["name"]}" is invalid:'
                                 " spec.template.spec.containers: Required value")
    assert status["details"]["causes"][0]["field"] == "spec.template.spec.containers"


def test_a_job_without_a_name_or_a_template_is_a_422(k8s) -> None:
    with pytest.raises(ApiException) as raised:
        create(k8s, {"apiVersion": "batch/v1", "kind": "Job", "metadata": {}, "spec": {}})
    assert raised.value.status == 422
    assert "metadata.name: Required value: name or generateName is required" in error_of(raised)["message"]


def test_creating_in_a_namespace_that_does_not_exist_is_a_404(k8s) -> None:
    job = a_job()
    job["metadata"]["namespace"] = "elsewhere"
    with pytest.raises(ApiException) as raised:
        raw(k8s.batch.create_namespaced_job, "elsewhere", job)
    assert raised.value.status == 404
    assert error_of(raised)["message"] == 'namespaces "elsewhere" not found'


def test_a_job_naming_another_namespace_than_the_request_is_a_400(k8s) -> None:
    with pytest.raises(ApiException) as raised:
        raw(k8s.batch.create_namespaced_job, "elsewhere", a_job())
    assert raised.value.status == 400
    assert "does not match the namespace sent on the request" in error_of(raised)["message"]


def test_a_namespace_made_by_the_harness_takes_jobs(api, k8s) -> None:
    api.create_namespace("team-b")
    job = a_job()
    job["metadata"]["namespace"] = "team-b"
    assert raw(k8s.batch.create_namespaced_job, "team-b", job)["metadata"]["namespace"] == "team-b"


def test_reading_a_job_that_is_not_there_is_a_404(k8s) -> None:
    with pytest.raises(ApiException) as raised:
        raw(k8s.batch.read_namespaced_job, "co-nothing", NAMESPACE)
    assert (raised.value.status, error_of(raised)["reason"]) == (404, "NotFound")
    assert error_of(raised)["message"] == 'jobs.batch "co-nothing" not found'


# --- lists -----------------------------------------------------------------------------------------


def test_a_label_selector_finds_the_jobs_with_every_label_it_names(k8s) -> None:
    for run, attempt in (("r1", 1), ("r1", 2), ("r2", 1)):
        create(k8s, a_job(run, attempt))

    def names(selector: str) -> list[tuple[str, str]]:
        page = raw(k8s.batch.list_namespaced_job, NAMESPACE, label_selector=selector)
        assert (page["kind"], page["apiVersion"]) == ("JobList", "batch/v1")
        return [(item["metadata"]["labels"]["containerops.dev/run"],
                 item["metadata"]["labels"]["containerops.dev/attempt"]) for item in page["items"]]

    assert sorted(names("containerops.dev/run=r1")) == [("r1", "1"), ("r1", "2")]
    assert names("containerops.dev/run=r1,containerops.dev/attempt=2") == [("r1", "2")]
    assert sorted(names("containerops.dev/run!=r1")) == [("r2", "1")]
    assert len(names("app.kubernetes.io/managed-by")) == 3
    assert names("!app.kubernetes.io/managed-by") == []
    assert len(names("containerops.dev/attempt in (1,3)")) == 2


def test_list_items_have_no_kind_as_the_api_server_leaves_it_out(k8s) -> None:
    create(k8s, a_job())
    item = raw(k8s.batch.list_namespaced_job, NAMESPACE)["items"][0]
    assert "kind" not in item and "apiVersion" not in item


def test_a_long_list_comes_in_pages_with_a_continue_token(k8s) -> None:
    for attempt in range(1, 6):
        create(k8s, a_job(attempt=attempt))
    seen, token_, pages = [], None, 0
    while True:
        more = {"_continue": token_} if token_ else {}
        page = raw(k8s.batch.list_namespaced_job, NAMESPACE, limit=2, **more)
        pages += 1
        seen += [item["metadata"]["name"] for item in page["items"]]
        token_ = page["metadata"].get("continue")
        if not token_:
            break
        assert page["metadata"]["remainingItemCount"] == 5 - len(seen)
    assert pages == 3
    assert sorted(seen) == seen and len(set(seen)) == 5


def test_a_bad_continue_token_is_a_400(k8s) -> None:
    with pytest.raises(ApiException) as raised:
        raw(k8s.batch.list_namespaced_job, NAMESPACE, limit=2, _continue="not-a-token")
    assert raised.value.status == 400
    assert error_of(raised)["message"].startswith("continue key is not valid")


def test_a_malformed_label_selector_is_a_400(k8s) -> None:
    with pytest.raises(ApiException) as raised:
        raw(k8s.batch.list_namespaced_job, NAMESPACE, label_selector="a=b=c")
    assert raised.value.status == 400


def test_a_namespace_without_pods_lists_none(k8s) -> None:
    page = raw(k8s.core.list_namespaced_pod, NAMESPACE, label_selector="job-name=co-x")
    assert (page["kind"], page["items"]) == ("PodList", [])
    assert page["metadata"]["resourceVersion"].isdigit()


def test_events_filter_by_field_and_an_unknown_field_is_a_400(k8s) -> None:
    page = raw(k8s.core.list_namespaced_event, NAMESPACE,
               field_selector="involvedObject.kind=Pod,reason=FailedScheduling")
    assert (page["kind"], page["items"]) == ("EventList", [])
    with pytest.raises(ApiException) as raised:
        raw(k8s.core.list_namespaced_event, NAMESPACE, field_selector="colour=blue")
    assert raised.value.status == 400
    assert error_of(raised)["message"] == "field label not supported: colour"


# --- patch -----------------------------------------------------------------------------------------


def test_a_patch_merges_annotations_and_suspends_the_job(k8s) -> None:
    name = create(k8s, a_job())["metadata"]["name"]
    patched = raw(k8s.batch.patch_namespaced_job, name, NAMESPACE,
                  {"metadata": {"annotations": {"containerops.dev/stop-reason": "cancelled"}},
                   "spec": {"suspend": True}})
    annotations = patched["metadata"]["annotations"]
    assert annotations["containerops.dev/stop-reason"] == "cancelled"
    assert annotations["containerops.dev/job"] == "build"  # the others are kept
    assert patched["spec"]["suspend"] is True
    assert patched["metadata"]["generation"] == 2
    assert raw(k8s.batch.read_namespaced_job, name, NAMESPACE) == patched


def test_a_null_in_a_patch_removes_the_annotation_and_the_status_is_not_patched(k8s) -> None:
    name = create(k8s, a_job())["metadata"]["name"]
    patched = raw(k8s.batch.patch_namespaced_job, name, NAMESPACE,
                  {"metadata": {"annotations": {"containerops.dev/job": None}}, "status": {"active": 5}})
    assert "containerops.dev/job" not in patched["metadata"]["annotations"]
    assert patched["status"] == {}
    assert patched["metadata"]["generation"] == 1


def test_a_patch_of_the_template_is_a_422_as_it_is_immutable(k8s) -> None:
    name = create(k8s, a_job())["metadata"]["name"]
    with pytest.raises(ApiException) as raised:
        raw(k8s.batch.patch_namespaced_job, name, NAMESPACE,
            {"spec": {"template": {"spec": {"restartPolicy": "OnFailure"}}}})
    assert raised.value.status == 422
    assert "spec.template: Invalid value: field is immutable" in error_of(raised)["message"]


def test_a_patch_on_an_old_resource_version_is_a_409_conflict(k8s) -> None:
    name = create(k8s, a_job())["metadata"]["name"]
    with pytest.raises(ApiException) as raised:
        raw(k8s.batch.patch_namespaced_job, name, NAMESPACE, {"metadata": {"resourceVersion": "1"}})
    assert (raised.value.status, error_of(raised)["reason"]) == (409, "Conflict")


def test_a_json_patch_is_refused_as_the_harness_applies_merge_patches_only(k8s) -> None:
    name = create(k8s, a_job())["metadata"]["name"]
    with pytest.raises(ApiException) as raised:
        raw(k8s.batch.patch_namespaced_job, name, NAMESPACE, [{"op": "replace", "path": "/spec/suspend",
                                                                "value": True}])
    assert raised.value.status == 415
    assert "merge-patch" in error_of(raised)["message"]


def test_patching_a_job_that_is_not_there_is_a_404(k8s) -> None:
    with pytest.raises(ApiException) as raised:
        raw(k8s.batch.patch_namespaced_job, "co-nothing", NAMESPACE, {"spec": {"suspend": True}})
    assert raised.value.status == 404


# --- delete ----------------------------------------------------------------------------------------


def test_a_background_delete_removes_the_job_and_answers_a_status_of_success(api, k8s) -> None:
    created = create(k8s, a_job())
    answer = raw(k8s.batch.delete_namespaced_job, created["metadata"]["name"], NAMESPACE,
                 propagation_policy="Background")
    assert (answer["kind"], answer["status"]) == ("Status", "Success")
    assert answer["details"] == {"name": created["metadata"]["name"], "group": "batch", "kind": "jobs",
                                 "uid": created["metadata"]["uid"]}
    assert api.jobs() == []


def test_a_foreground_delete_given_in_delete_options_answers_the_job_being_deleted(api, k8s) -> None:
    name = create(k8s, a_job())["metadata"]["name"]
    answer = raw(k8s.batch.delete_namespaced_job, name, NAMESPACE, body={"propagationPolicy": "Foreground"})
    assert answer["kind"] == "Job"
    assert answer["metadata"]["deletionTimestamp"]
    assert answer["metadata"]["finalizers"] == ["foregroundDeletion"]


def test_a_delete_without_a_policy_orphans_the_pods_and_warns_as_batch_v1_does(k8s) -> None:
    name = create(k8s, a_job())["metadata"]["name"]
    _, code, headers = k8s.batch.delete_namespaced_job_with_http_info(name, NAMESPACE, _preload_content=False)
    assert code == 200
    assert "child pods are preserved by default" in headers["Warning"]
    assert "orphan" in raw(k8s.batch.read_namespaced_job, name, NAMESPACE)["metadata"]["finalizers"]


def test_deleting_a_job_that_is_not_there_is_a_404(k8s) -> None:
    with pytest.raises(ApiException) as raised:
        raw(k8s.batch.delete_namespaced_job, "co-nothing", NAMESPACE, propagation_policy="Background")
    assert raised.value.status == 404


def test_an_unknown_propagation_policy_is_a_422(k8s) -> None:
    name = create(k8s, a_job())["metadata"]["name"]
    with pytest.raises(ApiException) as raised:
        raw(k8s.batch.delete_namespaced_job, name, NAMESPACE, propagation_policy="Sideways")
    assert raised.value.status == 422


# --- what the harness does not serve -------------------------------------------------------------


def test_a_call_the_harness_does_not_serve_is_a_404_that_says_so(k8s) -> None:
    with pytest.raises(ApiException) as raised:
        raw(k8s.core.list_namespaced_config_map, NAMESPACE)
    assert raised.value.status == 404
    assert ("the Kubernetes harness does not serve GET /api/v1/namespaces/containerops/configmaps"
            in error_of(raised)["message"])


# --- authentication --------------------------------------------------------------------------------


def test_a_request_without_a_token_is_a_401_and_creates_nothing(api) -> None:
    anonymous = clients(api.url)
    with pytest.raises(ApiException) as raised:
        create(anonymous, a_job())
    anonymous.close()
    assert raised.value.status == 401
    assert error_of(raised) == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    assert api.jobs() == []
    assert api.requests()[-1].problem == "no Authorization header"


def test_a_request_with_a_token_that_is_not_eks_is_a_401(api) -> None:
    stranger = clients(api.url, "not-a-token")
    with pytest.raises(ApiException) as raised:
        raw(stranger.batch.list_namespaced_job, NAMESPACE)
    stranger.close()
    assert raised.value.status == 401


def test_an_expired_token_is_a_401() -> None:
    with KubernetesApi(token_clock=lambda: time.time() + 20 * 60) as later:
        late = clients(later.url, token())
        with pytest.raises(ApiException) as raised:
            raw(late.batch.list_namespaced_job, NAMESPACE)
        late.close()
        assert raised.value.status == 401
        assert "expired" in later.requests()[-1].problem


# --- faults ----------------------------------------------------------------------------------------


def test_a_refused_create_answers_the_error_and_creates_nothing_then_the_next_one_works(api, k8s) -> None:
    api.faults.refuse("POST", r"/jobs$", 403, "Forbidden",
                      'jobs.batch is forbidden: User "launcher" cannot create resource "jobs" in API group'
                      ' "batch" in the namespace "containerops"')
    with pytest.raises(ApiException) as raised:
        create(k8s, a_job())
    assert (raised.value.status, error_of(raised)["reason"]) == (403, "Forbidden")
    assert "cannot create resource" in error_of(raised)["message"]
    assert api.jobs() == []
    assert create(k8s, a_job())["kind"] == "Job"


def test_a_refusal_can_be_throttling_with_a_retry_after_or_a_server_error_every_time(api, k8s) -> None:
    api.faults.refuse("GET", r"/jobs", 429, "TooManyRequests", "slow down", retry_after=2)
    with pytest.raises(ApiException) as throttled:
        raw(k8s.batch.list_namespaced_job, NAMESPACE)
    assert (throttled.value.status, throttled.value.headers["Retry-After"]) == (429, "2")
    assert error_of(throttled)["details"] == {"retryAfterSeconds": 2}
    api.faults.refuse("*", r"/jobs", 500, "InternalError", "etcd is gone", times=None)
    for _ in range(2):
        with pytest.raises(ApiException) as failed:
            raw(k8s.batch.list_namespaced_job, NAMESPACE)
        assert failed.value.status == 500


def test_a_stalled_create_times_the_client_out_but_the_job_is_created_so_a_retry_gets_409(api, k8s) -> None:
    # The client takes an int or a (connect, read) pair as its time limit: a float is ignored.
    api.faults.stall("POST", r"/jobs$", 5.0)
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        k8s.batch.create_namespaced_job(NAMESPACE, a_job(), _request_timeout=(1, 0.3))
    assert len(api.jobs()) == 1
    with pytest.raises(ApiException) as raised:
        create(k8s, a_job())
    assert raised.value.status == 409


def test_a_stalled_read_answers_late_and_then_the_harness_answers_at_once_again(api, k8s) -> None:
    name = create(k8s, a_job())["metadata"]["name"]
    api.faults.stall("GET", name, 5.0)
    with pytest.raises(urllib3.exceptions.HTTPError, match="Read timed out"):  # a MaxRetryError, for a GET
        k8s.batch.read_namespaced_job(name, NAMESPACE, _request_timeout=(1, 0.3))
    assert raw(k8s.batch.read_namespaced_job, name, NAMESPACE)["metadata"]["name"] == name


def test_every_request_is_recorded_with_its_answer(api, k8s) -> None:
    create(k8s, a_job())
    raw(k8s.batch.list_namespaced_job, NAMESPACE, label_selector="containerops.dev/run=run-1")
    asked = [(r.method, r.path, r.code) for r in api.requests()]
    assert asked == [("POST", "/apis/batch/v1/namespaces/containerops/jobs", 201),
                     ("GET", "/apis/batch/v1/namespaces/containerops/jobs", 200)]
    assert api.requests()[1].query == {"labelSelector": ["containerops.dev/run=run-1"]}
