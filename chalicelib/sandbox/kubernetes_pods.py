"""What a pod's spec means to the harness's scheduler and kubelet (pure): resource quantities,
the pod's requests and whether the node has room for them (with the scheduler's message when
it has not), and a container's environment, user and limits as the kubelet makes them.

- **Requests.** A pod asks for the larger of its containers' and restartable (sidecar) init
  containers' sum, and what each ordinary init container needs while the sidecars before it
  run (Kubernetes' rule since native sidecars). A limit without a request gives the request
  the limit's value (the API server's default for a Pod). The scheduler places a pod when
  its requests fit in the node's allocatable minus what the pods bound to it ask for; its
  message otherwise is the default scheduler's (`0/1 nodes are available: 1 Insufficient
  cpu. preemption: ...`), with no preemption victim (every pod has the same priority).
- **Environment.** `value`s, and `valueFrom.secretKeyRef` from the Secret (a missing Secret
  or key stops the container with the kubelet's CreateContainerConfigError messages, unless
  `optional`); `$(NAME)` in a value refers to a variable defined before it and in `args`
  to any of the container's, `$$` is a `$`: the kubelet's expansion, which a job's own
  shell text goes through too. Other `valueFrom` sources and `envFrom` are not served.
- **User and limits.** `runAsUser`:`runAsGroup` of the container's securityContext (else the
  pod's); limits become Docker's CPU quota and memory limit, the CPU request its shares.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
_SUFFIX = {None: Decimal(1), "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
           "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12),
           "P": Decimal(10**15), "E": Decimal(10**18), "Ki": Decimal(2**10), "Mi": Decimal(2**20),
           "Gi": Decimal(2**30), "Ti": Decimal(2**40), "Pi": Decimal(2**50), "Ei": Decimal(2**60)}
RESOURCES = ("cpu", "memory")

Requests = dict[str, Decimal]
SecretLookup = Callable[[str], Mapping[str, str] | None]  # Secret name -> its data, None if none


class ContainerConfigError(Exception):
    """The kubelet cannot make the container yet: CreateContainerConfigError, its message."""


def quantity(text: object) -> Decimal:
    """A Kubernetes quantity (`250m`, `2`, `128Mi`, `1e3`) as a number (cores, bytes)."""
    match = _QUANTITY.match(str(text).strip())
    if not match:
        raise ValueError(f"quantities must match the regular expression '{_QUANTITY.pattern}': {text!r}")
    try:
        return Decimal(match.group(1)) * _SUFFIX[match.group(2)]
    except InvalidOperation as exc:
        raise ValueError(f"not a quantity: {text!r}") from exc


def with_default_requests(container: Mapping[str, Any]) -> dict[str, Any]:
    """The container's resources with each limit's request defaulted to it."""
    resources = dict(container.get("resources") or {})
    limits, requests = dict(resources.get("limits") or {}), dict(resources.get("requests") or {})
    for name, value in limits.items():
        requests.setdefault(name, value)
    return {**({"limits": limits} if limits else {}), **({"requests": requests} if requests else {})}


def _requests_of(container: Mapping[str, Any]) -> Requests:
    asked = with_default_requests(container).get("requests") or {}
    return {name: quantity(asked[name]) for name in RESOURCES if name in asked}


def _add(*parts: Requests) -> Requests:
    total: Requests = {}
    for part in parts:
        for name, value in part.items():
            total[name] = total.get(name, Decimal(0)) + value
    return total


def _larger(one: Requests, other: Requests) -> Requests:
    return {name: max(one.get(name, Decimal(0)), other.get(name, Decimal(0))) for name in {*one, *other}}


def pod_requests(pod_spec: Mapping[str, Any]) -> Requests:
    """What the pod asks the node for."""
    sidecars: Requests = {}
    init_peak: Requests = {}
    for container in pod_spec.get("initContainers") or []:
        if container.get("restartPolicy") == "Always":
            sidecars = _add(sidecars, _requests_of(container))
        else:
            init_peak = _larger(init_peak, _add(sidecars, _requests_of(container)))
    regular = _add(sidecars, *(_requests_of(c) for c in pod_spec.get("containers") or []))
    return _larger(regular, init_peak)


def qos_class(pod_spec: Mapping[str, Any]) -> str:
    containers = [*(pod_spec.get("initContainers") or []), *(pod_spec.get("containers") or [])]
    resources = [with_default_requests(c) for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    guaranteed = all(
        all(name in (r.get("limits") or {}) and quantity((r.get("requests") or {}).get(name, 0))
            == quantity(r["limits"][name]) for name in RESOURCES) for r in resources)
    return "Guaranteed" if guaranteed else "Burstable"


def unschedulable(asked: Requests, allocatable: Requests, bound: Iterable[Requests]) -> str | None:
    """The scheduler's message when the pod does not fit on the (one) node; None when it does."""
    used = _add(*bound)
    short = sorted(name for name, value in asked.items()
                   if value > allocatable.get(name, Decimal(0)) - used.get(name, Decimal(0)))
    if not short:
        return None
    reasons = ", ".join(f"1 Insufficient {name}" for name in short)
    return (f"0/1 nodes are available: {reasons}. preemption: 0/1 nodes are available:"
            " 1 No preemption victims found for incoming pod.")


# --- the container the kubelet makes ---------------------------------------------------------

def expand(text: str, variables: Mapping[str, str]) -> str:
    """The kubelet's `$(NAME)` expansion: a defined name is replaced, an undefined one kept as
    written, `$$` is one `$`, and any other `$` stays."""
    out, index = [], 0
    while index < len(text):
        character = text[index]
        if character != "$" or index + 1 >= len(text):
            out.append(character)
            index += 1
            continue
        following = text[index + 1]
        if following == "$":
            out.append("$")
            index += 2
        elif following == "(":
            closing = text.find(")", index + 2)
            if closing < 0:
                out.append("$(")
                index += 2
            else:
                name = text[index + 2:closing]
                out.append(variables.get(name, f"$({name})"))
                index = closing + 1
        else:
            out.append("$" + following)
            index += 2
    return "".join(out)


def container_environment(container: Mapping[str, Any], namespace: str,
                          secrets: SecretLookup) -> dict[str, str]:
    """The container's variables, in order; ContainerConfigError as the kubelet refuses them."""
    if container.get("envFrom"):
        raise ContainerConfigError("the harness does not resolve envFrom (ContainerOps sets each variable)")
    env: dict[str, str] = {}
    for item in container.get("env") or []:
        name = str(item["name"])
        source = item.get("valueFrom")
        if source is None:
            env[name] = expand(str(item.get("value") or ""), env)
            continue
        reference = source.get("secretKeyRef") if isinstance(source, Mapping) else None
        if reference is None:
            raise ContainerConfigError(f"the harness resolves only secretKeyRef, not {sorted(source)}"
                                       f" (variable {name})")
        secret_name, key = str(reference.get("name") or ""), str(reference.get("key") or "")
        data = secrets(secret_name)
        if data is None:
            if reference.get("optional"):
                continue
            raise ContainerConfigError(f'secret "{secret_name}" not found')
        if key not in data:
            if reference.get("optional"):
                continue
            raise ContainerConfigError(f"couldn't find key {key} in Secret {namespace}/{secret_name}")
        env[name] = data[key]
    return env


def container_user(container: Mapping[str, Any], pod_spec: Mapping[str, Any]) -> str | None:
    """`uid[:gid]` the container runs as; None for the image's own user."""
    own, pods = container.get("securityContext") or {}, pod_spec.get("securityContext") or {}
    user = own.get("runAsUser", pods.get("runAsUser"))
    group = own.get("runAsGroup", pods.get("runAsGroup"))
    if user is None:
        return None
    return f"{user}:{group}" if group is not None else str(user)


def container_limits(container: Mapping[str, Any]) -> tuple[float | None, float | None, int | None]:
    """(cpu request in cores, cpu limit in cores, memory limit in bytes) for the engine."""
    resources = with_default_requests(container)
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    cpu_request = float(quantity(requests["cpu"])) if "cpu" in requests else None
    cpu_limit = float(quantity(limits["cpu"])) if "cpu" in limits else None
    memory = int(quantity(limits["memory"])) if "memory" in limits else None
    return cpu_request, cpu_limit, memory


def image_reference(image: str) -> str:
    """The image's full name as containerd resolves it (`busybox` -> docker.io/library/busybox:latest)."""
    name, tag = image, ""
    if "@" not in image and ":" in image.rsplit("/", 1)[-1]:
        name, tag = image.rsplit(":", 1)
    elif "@" not in image:
        tag = "latest"
    first = name.split("/", 1)[0]
    if "/" not in name:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    return f"{name}:{tag}" if tag else name
