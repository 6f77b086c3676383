"""The manifests of infra/eks: valid Kubernetes, least privilege, and a Fluent Bit that names each
container's log stream the way the EKS launcher's attempts expect (cloud.events.eks_stream)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from chalicelib.aws.eks_jobs import KUBERNETES_VERSION, EksJobSettings, kubernetes_job
from chalicelib.cloud.events import eks_stream
from tests.aws.ecs_builders import task_request

EKS_DIR = Path(__file__).resolve().parents[2] / "infra" / "eks"
FILES = sorted(EKS_DIR.glob("*.yaml"))


def documents() -> list[dict[str, Any]]:
    return [doc for path in FILES for doc in yaml.safe_load_all(path.read_text()) if doc]


def named(kind: str, name: str) -> dict[str, Any]:
    found = [doc for doc in documents() if doc["kind"] == kind and doc["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}"
    return found[0]


def test_the_manifests_are_the_namespace_accounts_rbac_and_fluent_bit() -> None:
    assert [path.name for path in FILES] == [
        "fluent-bit.yaml", "job-service-account.yaml", "launcher-rbac.yaml", "namespace.yaml"]


@pytest.mark.parametrize("document", documents(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_every_manifest_is_valid_against_the_kubernetes_schema(document: dict[str, Any]) -> None:
    assert kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True) == KUBERNETES_VERSION


def test_the_jobs_namespace_enforces_the_restricted_pod_security_standard() -> None:
    labels = named("Namespace", "containerops")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_jobs_service_account_mounts_no_token() -> None:
    account = named("ServiceAccount", "containerops-job")
    assert account["automountServiceAccountToken"] is False
    assert account["metadata"]["namespace"] == EksJobSettings("b", "i").namespace


def test_the_launcher_may_only_run_read_stop_and_delete_jobs_and_read_their_pods_and_events() -> None:
    role = named("Role", "containerops-launcher")
    assert role["metadata"]["namespace"] == "containerops"
    grants = {(group, resource): sorted(rule["verbs"]) for rule in role["rules"]
              for group in rule["apiGroups"] for resource in rule["resources"]}
    assert grants == {("batch", "jobs"): ["create", "delete", "get", "list", "patch"],
                      ("", "pods"): ["get", "list"], ("", "pods/log"): ["get"], ("", "events"): ["list"]}
    binding = named("RoleBinding", "containerops-launcher")
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                                    "name": "containerops:launcher"}]
    assert not any(doc["kind"].startswith("Cluster") for doc in documents())


def test_fluent_bit_reads_only_the_jobs_pods() -> None:
    role = named("Role", "containerops-fluent-bit")
    assert role["metadata"]["namespace"] == "containerops"
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]


def fluent_bit_output() -> dict[str, str]:
    config = named("ConfigMap", "fluent-bit-config")["data"]["fluent-bit.conf"]
    output = config.split("[OUTPUT]", 1)[1]
    return dict(line.split(None, 1) for line in output.strip().splitlines() if line.strip())


def render_record_accessor(template: str, record: dict[str, Any]) -> str:
    """What Fluent Bit makes of `$a['b']['c']` parts: the record's values at those keys."""
    def value(match: re.Match[str]) -> str:
        node: Any = record[match.group(1)]
        for key in re.findall(r"\['([^']+)'\]", match.group(2)):
            node = node[key]
        return str(node)
    return re.sub(r"\$(\w+)((?:\['[^']+'\])+)", value, template)


def test_fluent_bit_names_each_containers_stream_after_its_attempt() -> None:
    job = kubernetes_job(task_request(run_id="20261201-130000-4f9a1c2e", attempt=2), EksJobSettings("b", "i"))
    record = {"kubernetes": {"container_name": "job",
                             "annotations": job["spec"]["template"]["metadata"]["annotations"]}}
    output = fluent_bit_output()
    assert render_record_accessor(output["log_stream_template"], record) == eks_stream(
        "job", "20261201-130000-4f9a1c2e", "build", 2)
    assert output["log_key"] == "log"
    assert output["log_group_name"] == "${LOG_GROUP}"


def test_fluent_bit_tails_only_the_jobs_namespace() -> None:
    config = named("ConfigMap", "fluent-bit-config")["data"]["fluent-bit.conf"]
    assert "Path              /var/log/containers/*_containerops_*.log" in config
    assert "multiline.parser  cri" in config


def test_fluent_bit_runs_without_capabilities_and_reads_the_node_logs_read_only() -> None:
    spec = named("DaemonSet", "fluent-bit")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["varlog"]["readOnly"] is True
    assert spec["serviceAccountName"] == "fluent-bit"
