"""What a pod's spec means to the harness's scheduler and kubelet (chalicelib/sandbox/kubernetes_pods.py):
quantities, a pod's requests with native sidecars, the scheduler's message, the kubelet's `$(NAME)`
expansion and its secret errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.sandbox.kubernetes_pods import (
    ContainerConfigError,
    container_environment,
    expand,
    image_reference,
    pod_requests,
    qos_class,
    quantity,
    unschedulable,
)


@pytest.mark.parametrize(("text", "value"), [
    ("250m", Decimal("0.25")), ("2", Decimal(2)), ("0.5", Decimal("0.5")), ("128Mi", Decimal(128 * 2**20)),
    ("1Gi", Decimal(2**30)), ("1G", Decimal(10**9)), ("1e3", Decimal(1000)), ("100k", Decimal(100_000)),
])
def test_a_quantity_reads_as_kubernetes_reads_it(text: str, value: Decimal) -> None:
    assert quantity(text) == value


def test_a_pod_asks_for_its_containers_and_sidecars_and_an_init_container_only_at_its_peak() -> None:
    spec = {
        "initContainers": [
            {"name": "restore", "resources": {"requests": {"cpu": "500m"}}},
            {"name": "save", "restartPolicy": "Always",
             "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}},
        ],
        "containers": [{"name": "job", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}],
    }
    assert pod_requests(spec) == {"cpu": Decimal("1.05"), "memory": Decimal(2**30 + 64 * 2**20)}
    assert qos_class(spec) == "Burstable"
    assert qos_class({"containers": [{"name": "job"}]}) == "BestEffort"


def test_the_scheduler_says_which_resource_the_node_lacks() -> None:
    node = {"cpu": Decimal(2), "memory": Decimal(2**30)}
    assert unschedulable({"cpu": Decimal(1)}, node, [{"cpu": Decimal("0.5")}]) is None
    message = unschedulable({"cpu": Decimal(1), "memory": Decimal(2**31)}, node, [{"cpu": Decimal("1.5")}])
    assert message == ("0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. preemption:"
                       " 0/1 nodes are available: 1 No preemption victims found for incoming pod.")


@pytest.mark.parametrize(("text", "expanded"), [
    ("$(A)-$(B)", "one-$(B)"),
    ("$$(A)", "$(A)"),
    ("$$", "$"),
    ("cost $5 $", "cost $5 $"),
    ("$(A", "$(A"),
    ("echo $$$$", "echo $$"),
])
def test_the_kubelet_expands_defined_variables_and_a_double_dollar_is_one(text: str, expanded: str) -> None:
    assert expand(text, {"A": "one"}) == expanded


def test_a_variable_refers_to_those_defined_before_it() -> None:
    container = {"env": [{"name": "A", "value": "x"}, {"name": "B", "value": "$(A)$(C)"},
                         {"name": "C", "value": "z"}]}
    assert container_environment(container, "ns", lambda name: None) == {"A": "x", "B": "x$(C)", "C": "z"}


def test_a_secret_reference_reads_the_secret_or_says_what_is_missing() -> None:
    container = {"env": [{"name": "T", "valueFrom": {"secretKeyRef": {"name": "s", "key": "K"}}}]}
    assert container_environment(container, "ns", lambda name: {"K": "v"}) == {"T": "v"}
    with pytest.raises(ContainerConfigError, match=r"^couldn't find key K in Secret ns/s$"):
        container_environment(container, "ns", lambda name: {})
    with pytest.raises(ContainerConfigError, match=r'^secret "s" not found$'):
        container_environment(container, "ns", lambda name: None)
    reference = {"name": "s", "key": "K", "optional": True}
    optional = {"env": [{"name": "T", "valueFrom": {"secretKeyRef": reference}}]}
    assert container_environment(optional, "ns", lambda name: None) == {}


@pytest.mark.parametrize(("image", "reference"), [
    ("busybox", "docker.io/library/busybox:latest"),
    ("containerops/busybox:1", "docker.io/containerops/busybox:1"),
    ("registry.invalid/tools/build:1.2", "registry.invalid/tools/build:1.2"),
    ("localhost:5000/x", "localhost:5000/x:latest"),
])
def test_an_image_is_named_as_containerd_resolves_it(image: str, reference: str) -> None:
    assert image_reference(image) == reference
