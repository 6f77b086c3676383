"""The store seen as a component catalog, for validation and planning."""

from __future__ import annotations

from chalicelib.domain.catalog import ComponentRef
from chalicelib.domain.models import Component
from chalicelib.errors import NotFound
from chalicelib.store.base import Store


class StoreCatalog:
    def __init__(self, store: Store) -> None:
        self._store = store

    def find(self, ref: ComponentRef) -> Component | None:
        try:
            return self._store.get_component(ref.namespace, ref.name, ref.version)
        except NotFound:
            return None

    def versions(self, namespace: str, name: str) -> list[str]:
        return [c.metadata.version for c in self._store.list_components(namespace, name)]
