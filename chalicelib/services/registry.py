"""The component registry as the API sees it: publish, list, look up and deprecate versions.

Every answer is a plain document (an *entry*: the version's coordinates, whether it is
deprecated, when it was published, and its definition), so the API only serialises it.
Versions are immutable: publishing namespace/name@version a second time is a Conflict,
even with an identical definition, so a client learns that nothing was published.
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.models import Component, dump_definition
from chalicelib.domain.validation import check_component
from chalicelib.errors import Conflict, InvalidDefinition, NotFound, Problem
from chalicelib.store.base import Store, StoredComponent


def component_entry(stored: StoredComponent) -> dict[str, Any]:
    metadata = stored.component.metadata
    return {
        "namespace": metadata.namespace,
        "name": metadata.name,
        "version": metadata.version,
        "description": metadata.description,
        "deprecated": stored.deprecated,
        "created_at": stored.created_at,
        "definition": dump_definition(stored.component),
    }


def namespace_problems(document: Any, namespace: str) -> list[Problem]:
    """A document sent to a namespace's URL must name that namespace."""
    metadata = document.get("metadata") if isinstance(document, dict) else None
    written = metadata.get("namespace") if isinstance(metadata, dict) else None
    if isinstance(written, str) and written != namespace:
        return [Problem("metadata.namespace",
                        f"the definition is in namespace '{written}' but was sent to namespace"
                        f" '{namespace}'")]
    return []


class ComponentRegistry:
    def __init__(self, store: Store) -> None:
        self._store = store

    def publish(self, namespace: str, document: Any) -> dict[str, Any]:
        """Validate and store a new version; every problem at once, or Conflict if it exists."""
        component = self._validated(namespace, document)
        metadata = component.metadata
        if self._exists(namespace, metadata.name, metadata.version):
            raise Conflict(
                f"component {component.ref} is already published and versions are immutable;"
                " publish it under a new version"
            )
        self._store.put_component(component)  # Conflict if another definition won a race
        return self.get(namespace, metadata.name, metadata.version)

    def list_components(
        self, namespace: str, name: str | None = None, *, include_deprecated: bool = True
    ) -> dict[str, Any]:
        entries = self._store.list_component_entries(
            namespace, name, include_deprecated=include_deprecated
        )
        return {"components": [component_entry(entry) for entry in entries]}

    def versions(self, namespace: str, name: str) -> dict[str, Any]:
        """Every version of one component, deprecated ones included, oldest version first."""
        entries = self._store.list_component_entries(namespace, name, include_deprecated=True)
        if not entries:
            raise NotFound(f"component {namespace}/{name} has no published version")
        return {"versions": [component_entry(entry) for entry in entries]}

    def get(self, namespace: str, name: str, version: str) -> dict[str, Any]:
        return component_entry(self._store.get_component_entry(namespace, name, version))

    def set_deprecated(
        self, namespace: str, name: str, version: str, deprecated: bool
    ) -> dict[str, Any]:
        """Deprecated versions stay readable and runnable; palettes and lists may hide them."""
        return component_entry(
            self._store.set_component_deprecated(namespace, name, version, deprecated)
        )

    def _validated(self, namespace: str, document: Any) -> Component:
        checked = check_component(document)
        problems = checked.problems + namespace_problems(document, namespace)
        if problems or checked.model is None:
            raise InvalidDefinition(problems or [Problem("", "the definition is not valid")])
        return checked.model

    def _exists(self, namespace: str, name: str, version: str) -> bool:
        try:
            self._store.get_component_entry(namespace, name, version)
        except NotFound:
            return False
        return True
