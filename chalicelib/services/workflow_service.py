"""Workflows as the API sees them: create, check, save new versions, read, export, switch off.

Saving is optimistic: an update names the version the client edited (`expected_version`)
and the store refuses it (Conflict) when another save came first, so two editors never
overwrite each other and no version is lost. Every problem of a definition is reported at
once with its path (InvalidDefinition); a definition must also name the namespace (and,
on update, the workflow) of the URL it was sent to.

Deleting hides a workflow (latest lookups and lists answer NotFound / leave it out), but
every stored version stays readable by number, because runs pinned to one still show it;
such a version reads as not enabled. The webhook secret is shown once, in the answer to
create, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import yaml

from chalicelib.asl import Target, compile_workflow
from chalicelib.domain.catalog import ComponentCatalog
from chalicelib.domain.cloud_rules import ALL_PLATFORMS, cloud_problems
from chalicelib.domain.host_mounts import NO_HOST_MOUNTS, MountPolicy, mount_problems
from chalicelib.domain.models import Workflow, dump_definition
from chalicelib.domain.platforms import Platform
from chalicelib.domain.validation import check_workflow
from chalicelib.engine.records import RunRecord
from chalicelib.errors import InvalidDefinition, NotFound, Problem
from chalicelib.services.registry import namespace_problems
from chalicelib.store.base import Store, StoredWorkflow

# Names the API's own routes take: a workflow named so could be created but never read back.
RESERVED_NAMES = frozenset({"check"})


SavedHook = Callable[[str, str, int], object]  # namespace, name, version


class WorkflowService:
    def __init__(self, store: Store, catalog: ComponentCatalog, *, cloud: bool = False,
                 on_saved: SavedHook | None = None,
                 platforms: Collection[Platform] = ALL_PLATFORMS,
                 mounts: MountPolicy = NO_HOST_MOUNTS) -> None:
        """`cloud`: the workflows run on AWS, so what only the local driver can do (host
        mounts, secrets inside longer values) and a state machine over Step Functions'
        limits are refused too. `on_saved` is told of each new version (on AWS: its state
        machine is made then, so its first run finds it ready). `platforms`: what the
        deployment runs jobs on (a workflow naming another is refused on AWS). `mounts`:
        the host folders the local driver lets jobs mount (`serve --allow-mount`); a mount
        written out in full elsewhere is refused here, one built by expressions at launch."""
        self._mounts = mounts
        self._platforms = frozenset(platforms)
        self._store = store
        self._catalog = catalog
        self._cloud = cloud
        self._on_saved = on_saved

    # --- writing -------------------------------------------------------------------
    def create(self, namespace: str, document: Any) -> dict[str, Any]:
        """Version 1 (or the next number, for a workflow deleted before); Conflict if it exists.
        The answer is the only one that shows the webhook secret."""
        workflow = self._validated(namespace, document, _reserved_name_problems(document))
        version = self._store.save_workflow(workflow, expected_version=0)
        self._saved(namespace, workflow.metadata.name, version)
        stored = self._store.get_workflow(namespace, workflow.metadata.name, version)
        settings = self._store.get_workflow_settings(namespace, workflow.metadata.name)
        return {**_version_document(stored, settings.enabled), "webhook_secret": settings.webhook_secret}

    def update(
        self, namespace: str, name: str, expected_version: int, document: Any
    ) -> dict[str, Any]:
        """Save a new version over `expected_version`; Conflict when that is not the latest."""
        self._store.get_workflow(namespace, name)  # NotFound for a workflow never created
        workflow = self._validated(namespace, document, _name_problems(document, name))
        version = self._store.save_workflow(workflow, expected_version=expected_version)
        self._saved(namespace, name, version)
        return self.get(namespace, name, version)

    def check(self, namespace: str, document: Any) -> dict[str, Any]:
        """Validate without saving: what the designer's Check button shows."""
        problems = self._problems(namespace, document, _reserved_name_problems(document))
        return {"valid": not problems,
                "problems": [{"path": p.path, "message": p.message} for p in problems]}

    def set_enabled(self, namespace: str, name: str, enabled: bool) -> dict[str, Any]:
        settings = self._store.set_workflow_enabled(namespace, name, enabled)
        return _summary(self._store.get_workflow(namespace, name), settings.enabled)

    def delete(self, namespace: str, name: str) -> None:
        self._store.delete_workflow(namespace, name)

    # --- reading -------------------------------------------------------------------
    def get(self, namespace: str, name: str, version: int | None = None) -> dict[str, Any]:
        stored = self._store.get_workflow(namespace, name, version)
        return _version_document(stored, self._enabled(namespace, name))

    def versions(self, namespace: str, name: str) -> dict[str, Any]:
        """Every version, newest first, with when it was saved and whether it is the
        latest (the designer's version list); NotFound for an unknown or deleted workflow."""
        listed = self._store.list_workflow_versions(namespace, name)
        return {"namespace": namespace, "name": name,
                "versions": [{"version": v.version, "created_at": v.created_at,
                              "latest": i == 0} for i, v in enumerate(listed)]}

    def export_yaml(self, namespace: str, name: str, version: int | None = None) -> str:
        stored = self._store.get_workflow(namespace, name, version)
        return yaml.safe_dump(dump_definition(stored.workflow), sort_keys=False)

    def list_summaries(self, namespace: str) -> dict[str, Any]:
        """Each workflow's latest version, with its newest run (`last_run`, null for none)."""
        summaries = []
        listed = self._store.list_workflows(namespace)
        latest = self._store.latest_runs(namespace, [s.workflow.metadata.name for s in listed])
        for stored in listed:
            metadata = stored.workflow.metadata
            try:
                enabled = self._store.get_workflow_settings(namespace, metadata.name).enabled
            except NotFound:
                continue  # deleted since the list was read
            last = latest.get(metadata.name)
            summaries.append({**_summary(stored, enabled),
                              "last_run": _last_run(last) if last is not None else None})
        return {"workflows": summaries}

    # --- helpers -------------------------------------------------------------------
    def _saved(self, namespace: str, name: str, version: int) -> None:
        if self._on_saved is not None:
            self._on_saved(namespace, name, version)

    def _enabled(self, namespace: str, name: str) -> bool:
        """A deleted workflow's versions stay readable, but it runs no more."""
        try:
            return self._store.get_workflow_settings(namespace, name).enabled
        except NotFound:
            return False

    def _validated(self, namespace: str, document: Any, extra: list[Problem]) -> Workflow:
        workflow, problems = self._checked(namespace, document, extra)
        if problems or workflow is None:
            raise InvalidDefinition(problems or [Problem("", "the definition is not valid")])
        return workflow

    def _problems(self, namespace: str, document: Any, extra: list[Problem]) -> list[Problem]:
        return self._checked(namespace, document, extra)[1]

    def _checked(
        self, namespace: str, document: Any, extra: list[Problem]
    ) -> tuple[Workflow | None, list[Problem]]:
        checked = check_workflow(document, self._catalog)
        backend: list[Problem] = []
        if checked.model is not None:
            backend = (self._cloud_problems(checked.model) if self._cloud
                       else mount_problems(checked.model, self._mounts))
        return checked.model, checked.problems + namespace_problems(document, namespace) + extra + backend

    def _cloud_problems(self, workflow: Workflow) -> list[Problem]:
        problems = cloud_problems(workflow, self._platforms)
        try:  # only the limits matter here: the queue is the deployment's
            compile_workflow(workflow, self._catalog, Target("https://sqs.invalid/limits-only",
                                                             items_bucket="limits-only"))
        except InvalidDefinition as exc:
            problems.extend(exc.problems)
        return problems

def _metadata_name(document: Any) -> str | None:
    metadata = document.get("metadata") if isinstance(document, dict) else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else None


def _name_problems(document: Any, name: str) -> list[Problem]:
    """A new version keeps its workflow's name: renaming is creating another workflow."""
    written = _metadata_name(document)
    if written is not None and written != name:
        return [Problem("metadata.name",
                        f"the definition is named '{written}' but was sent to workflow '{name}';"
                        " to rename a workflow, create one under the new name")]
    return []


def _reserved_name_problems(document: Any) -> list[Problem]:
    written = _metadata_name(document)
    if written in RESERVED_NAMES:
        return [Problem("metadata.name", f"'{written}' is reserved by the API; choose another name")]
    return []


def _version_document(stored: StoredWorkflow, enabled: bool) -> dict[str, Any]:
    metadata = stored.workflow.metadata
    return {
        "namespace": metadata.namespace,
        "name": metadata.name,
        "version": stored.version,
        "enabled": enabled,
        "created_at": stored.created_at,
        "definition": dump_definition(stored.workflow),
    }


def _last_run(run: RunRecord) -> dict[str, Any]:
    return {"id": run.id, "status": str(run.status), "reason": run.reason,
            "created_at": run.created_at, "started_at": run.started_at,
            "finished_at": run.finished_at}


def _summary(stored: StoredWorkflow, enabled: bool) -> dict[str, Any]:
    metadata = stored.workflow.metadata
    return {
        "namespace": metadata.namespace,
        "name": metadata.name,
        "version": stored.version,
        "description": metadata.description,
        "enabled": enabled,
        "created_at": stored.created_at,
        "jobs": len(stored.workflow.jobs()),
    }
