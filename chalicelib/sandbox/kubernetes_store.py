"""The objects of the sandbox's Kubernetes harness, in memory, and what the API server does when
they are created, read, listed, patched and deleted; the kubelet and the Job controller change
them through the same store.

Every object gets what the API server gives it: a `uid`, a `resourceVersion` (one counter
for the whole store, growing with every write, as etcd's revision), a `creationTimestamp`,
a `generation` (1, and one more for each change of a Job's spec). Readers get copies.
Writers wake whoever waits for a change (`wait_for_change`), so the controller reacts to a
pod's end at once and polls only for time passing.

Lists: items sorted by name (as etcd returns keys), without `kind`/`apiVersion` (the API
server leaves them out of a typed list's items), the list's `metadata.resourceVersion`,
and with `limit`, a `continue` token of the API's form (base64url JSON naming where the next
page starts) and `remainingItemCount` when no selector filtered the list. Unlike a real API
server, the next page is read from the objects as they are now, not from a snapshot at the
first page's resourceVersion (a real one answers 410 Expired once that snapshot is
compacted). A namespace that does not exist has no objects: reads answer 404 for the
object, lists are empty, creates answer 404 for the namespace.

Deleting a Job (`propagationPolicy`): Background removes it at once and answers a Status of
Success (the controller then deletes its pods as the garbage collector does); Foreground
and Orphan mark it (`deletionTimestamp` and the finalizer `foregroundDeletion` or `orphan`)
and answer the Job as it now is; the controller removes it once its pods are gone (or
orphaned). Without a policy, batch/v1 orphans the pods and the API says so in a `Warning`
header, as Kubernetes does.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.sandbox.kubernetes_objects import (
    EVENTS,
    FOREGROUND_FINALIZER,
    JOBS,
    NAMESPACES,
    ORPHAN_FINALIZER,
    PODS,
    SECRETS,
    ApiError,
    Document,
    Resource,
    already_exists,
    bad_request,
    conflict,
    immutable_job_changes,
    invalid,
    job_with_defaults,
    merge_patch,
    not_found,
    refuse_invalid_job,
    success,
    timestamp,
)
from chalicelib.sandbox.kubernetes_selectors import field_matcher, label_matcher

POLICIES = ("Background", "Foreground", "Orphan")
ORPHAN_WARNING = ('299 - "child pods are preserved by default when jobs are deleted; set'
                  ' propagationPolicy=Background to remove them or set propagationPolicy=Orphan to'
                  ' suppress this warning"')
_KEPT_METADATA = ("name", "namespace", "uid", "creationTimestamp", "resourceVersion", "generation",
                  "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences")


class Cluster:
    """Thread-safe; every method returns copies."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._changed = threading.Condition()
        self._version = 0
        self._objects: dict[Resource, dict[tuple[str, str], Document]] = {
            resource: {} for resource in (NAMESPACES, JOBS, PODS, EVENTS, SECRETS)}

    # --- what the harness's Python API sets up ------------------------------------------
    def create_namespace(self, name: str) -> None:
        with self._changed:
            if ("", name) not in self._objects[NAMESPACES]:
                namespace = {"metadata": {"name": name}, "spec": {"finalizers": ["kubernetes"]},
                             "status": {"phase": "Active"}}
                self._store(NAMESPACES, "", namespace, new=True)

    def put_secret(self, namespace: str, name: str, data: Mapping[str, str]) -> None:
        encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
        with self._changed:
            self._require_namespace(namespace)
            existing = self._objects[SECRETS].get((namespace, name))
            body = {"metadata": {"name": name, "namespace": namespace}, "type": "Opaque", "data": encoded}
            if existing is not None:
                body["metadata"] = existing["metadata"]
            self._store(SECRETS, namespace, body, new=existing is None)

    def secret_data(self, namespace: str, name: str) -> dict[str, str] | None:
        """A Secret's values, decoded; None when there is no such Secret."""
        found = self.find(SECRETS, namespace, name)
        if found is None:
            return None
        return {key: base64.b64decode(value).decode() for key, value in (found.get("data") or {}).items()}

    # --- reads ----------------------------------------------------------------------------
    def find(self, resource: Resource, namespace: str, name: str) -> Document | None:
        with self._changed:
            found = self._objects[resource].get((namespace, name))
            return copy.deepcopy(found) if found is not None else None

    def get(self, resource: Resource, namespace: str, name: str) -> Document:
        found = self.find(resource, namespace, name)
        if found is None:
            raise not_found(resource, name)
        return found

    def items(self, resource: Resource, namespace: str | None = None) -> list[Document]:
        with self._changed:
            chosen = [obj for (ns, _), obj in sorted(self._objects[resource].items())
                      if namespace is None or ns == namespace]
            return copy.deepcopy(chosen)

    def list(self, resource: Resource, namespace: str, *, labels: str = "", fields: str = "",
             limit: int = 0, token: str = "") -> Document:
        by_labels, by_fields = label_matcher(labels), field_matcher(resource, fields)
        start = _start_of(token) if token else ""
        with self._changed:
            version = self._version
            chosen = [obj for obj in self.items(resource, namespace)
                      if obj["metadata"]["name"] >= start and by_labels(obj) and by_fields(obj)]
        metadata: Document = {"resourceVersion": str(version)}
        if limit and len(chosen) > limit:
            last = chosen[limit - 1]["metadata"]["name"]
            metadata["continue"] = _token(version, last + "\x00")
            if not (labels or fields):
                metadata["remainingItemCount"] = len(chosen) - limit
            chosen = chosen[:limit]
        for item in chosen:
            item.pop("kind", None)
            item.pop("apiVersion", None)
        return {"kind": f"{resource.kind}List", "apiVersion": resource.api_version, "metadata": metadata,
                "items": chosen}

    # --- writes ---------------------------------------------------------------------------
    def create(self, resource: Resource, namespace: str, body: Mapping[str, Any]) -> Document:
        with self._changed:
            self._require_namespace(namespace)
            name = body["metadata"]["name"]
            if (namespace, name) in self._objects[resource]:
                raise already_exists(resource, name)
            return self._store(resource, namespace, copy.deepcopy(dict(body)), new=True)

    def update(self, resource: Resource, namespace: str, name: str,
               change: Callable[[Document], None]) -> Document | None:
        """Apply `change` to a copy and keep it if it changed anything; None when the object is
        gone."""
        with self._changed:
            current = self._objects[resource].get((namespace, name))
            if current is None:
                return None
            changed = copy.deepcopy(current)
            change(changed)
            if changed == current:
                return copy.deepcopy(current)
            return self._store(resource, namespace, changed)

    def remove(self, resource: Resource, namespace: str, name: str) -> Document | None:
        with self._changed:
            removed = self._objects[resource].pop((namespace, name), None)
            if removed is not None:
                self._bump()
            return removed

    def wait_for_change(self, seen: int, timeout: float) -> int:
        """Block until the store changes after version `seen` (or `timeout` passes); the version."""
        with self._changed:
            self._changed.wait_for(lambda: self._version != seen, timeout)
            return self._version

    @property
    def version(self) -> int:
        with self._changed:
            return self._version

    # --- the Job routes ---------------------------------------------------------------------
    def create_job(self, namespace: str, body: Mapping[str, Any]) -> Document:
        if not isinstance(body, Mapping):
            raise bad_request("the body of a Job create is a JSON object")
        refuse_invalid_job(body)
        _refuse_other_kind(body, JOBS, namespace)
        uid = str(uuid.uuid4())
        job = job_with_defaults(body, uid)
        metadata = job["metadata"]
        if not metadata.get("name"):
            metadata["name"] = metadata["generateName"] + uuid.uuid4().hex[:5]
        metadata["uid"] = uid
        return self.create(JOBS, namespace, job)

    def patch_job(self, namespace: str, name: str, patch: Any) -> Document:
        if not isinstance(patch, dict):
            raise bad_request("a merge patch of a Job is a JSON object")
        with self._changed:
            current = self._objects[JOBS].get((namespace, name))
            if current is None:
                raise not_found(JOBS, name)
            wanted = (patch.get("metadata") or {}).get("resourceVersion")
            if wanted and wanted != current["metadata"]["resourceVersion"]:
                raise conflict(JOBS, name, "the object has been modified; please apply your changes to"
                                           " the latest version and try again")
            patched = merge_patch(current, patch)
            for key in _KEPT_METADATA:  # the API's own, whatever the patch says
                if key in current["metadata"]:
                    patched["metadata"][key] = current["metadata"][key]
            patched["status"] = current.get("status") or {}  # the status subresource's
            patched["kind"], patched["apiVersion"] = JOBS.kind, JOBS.api_version
            causes = immutable_job_changes(current, patched)
            if causes:
                raise invalid(JOBS, name, causes)
            if patched["spec"] != current["spec"]:
                patched["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
            if patched == current:
                return copy.deepcopy(current)
            return self._store(JOBS, namespace, patched)

    def delete_job(self, namespace: str, name: str,
                   options: Mapping[str, Any]) -> tuple[Document, dict[str, str]]:
        """The answer to a DELETE (a Status, or the Job being deleted) and its headers."""
        policy, headers = _policy(options)
        with self._changed:
            current = self._objects[JOBS].get((namespace, name))
            if current is None:
                raise not_found(JOBS, name)
            _check_preconditions(current, options.get("preconditions") or {})
            if policy == "Background":
                del self._objects[JOBS][(namespace, name)]
                self._bump()
                return success(JOBS, name, current["metadata"]["uid"]), headers
            finalizer = FOREGROUND_FINALIZER if policy == "Foreground" else ORPHAN_FINALIZER

            def mark(job: Document) -> None:
                metadata = job["metadata"]
                metadata.setdefault("deletionTimestamp", timestamp(self.clock()))
                metadata.setdefault("deletionGracePeriodSeconds", 0)
                finalizers = metadata.setdefault("finalizers", [])
                if finalizer not in finalizers:
                    finalizers.append(finalizer)

            marked = copy.deepcopy(current)
            mark(marked)
            return self._store(JOBS, namespace, marked), headers

    # --- inside the store (the lock is held) -----------------------------------------------
    def _store(self, resource: Resource, namespace: str, body: Document, *, new: bool = False) -> Document:
        metadata = body.setdefault("metadata", {})
        body["kind"], body["apiVersion"] = resource.kind, resource.api_version
        if new:
            metadata.setdefault("uid", str(uuid.uuid4()))
            metadata["creationTimestamp"] = timestamp(self.clock())
            if resource is JOBS:
                metadata["generation"] = 1
        if namespace:
            metadata["namespace"] = namespace
        metadata["resourceVersion"] = str(self._bump())
        self._objects[resource][(namespace, metadata["name"])] = body
        return copy.deepcopy(body)

    def _bump(self) -> int:
        self._version += 1
        self._changed.notify_all()
        return self._version

    def _require_namespace(self, namespace: str) -> None:
        if ("", namespace) not in self._objects[NAMESPACES]:
            raise not_found(NAMESPACES, namespace)


def _refuse_other_kind(body: Mapping[str, Any], resource: Resource, namespace: str) -> None:
    kind, version = body.get("kind"), body.get("apiVersion")
    if (kind and kind != resource.kind) or (version and version != resource.api_version):
        raise bad_request(f"the API version in the data ({version}) does not match the expected API"
                          f" version ({resource.api_version})" if version != resource.api_version else
                          f"the kind in the data ({kind}) does not match the expected kind ({resource.kind})")
    given = (body.get("metadata") or {}).get("namespace")
    if given and given != namespace:
        raise bad_request("the namespace of the provided object does not match the namespace sent on the"
                          " request")


def _policy(options: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    policy = options.get("propagationPolicy")
    orphan = options.get("orphanDependents")
    if policy is None and orphan is not None:
        policy = "Orphan" if orphan else "Background"
    if policy is None:
        return "Orphan", {"Warning": ORPHAN_WARNING}
    if policy not in POLICIES:
        raise ApiError(422, "Invalid", 'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy:'
                                       f' Unsupported value: "{policy}": supported values: "Foreground",'
                                       ' "Background", "Orphan"')
    return str(policy), {}


def _check_preconditions(current: Document, preconditions: Mapping[str, Any]) -> None:
    metadata = current["metadata"]
    for key, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
        wanted = preconditions.get(key)
        if wanted and wanted != metadata.get(key):
            raise conflict(JOBS, metadata["name"], f"Precondition failed: {label} in precondition: {wanted},"
                                                   f" {label} in object meta: {metadata.get(key)}")


def _token(version: int, start: str) -> str:
    document = json.dumps({"v": "meta.k8s.io/v1", "rv": version, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(document.encode()).decode().rstrip("=")


def _start_of(token: str) -> str:
    try:
        document = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        start = document["start"]
        if document.get("v") != "meta.k8s.io/v1" or not isinstance(start, str):
            raise ValueError(token)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise bad_request(f"continue key is not valid: {exc}") from exc
    return start.rstrip("\x00") + "\x00"
