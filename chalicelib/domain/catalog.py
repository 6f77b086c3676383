"""Where validation and the engine look up components: a small port with an in-memory form."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from chalicelib.domain.models import Component

_REF = re.compile(r"^(?P<namespace>[^/@\s]+)/(?P<name>[^/@\s]+)@(?P<version>[^/@\s]+)$")


@dataclass(frozen=True)
class ComponentRef:
    namespace: str
    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}@{self.version}"


def parse_component_ref(text: str) -> ComponentRef | None:
    match = _REF.match(text.strip())
    if not match:
        return None
    return ComponentRef(match["namespace"], match["name"], match["version"])


class ComponentCatalog(Protocol):
    def find(self, ref: ComponentRef) -> Component | None: ...

    def versions(self, namespace: str, name: str) -> list[str]: ...


class InMemoryCatalog:
    """Components given directly, e.g. the component files named on a command line."""

    def __init__(self, components: Iterable[Component] = ()) -> None:
        self._components: dict[ComponentRef, Component] = {}
        for component in components:
            self.add(component)

    def add(self, component: Component) -> None:
        m = component.metadata
        self._components[ComponentRef(m.namespace, m.name, m.version)] = component

    def find(self, ref: ComponentRef) -> Component | None:
        return self._components.get(ref)

    def versions(self, namespace: str, name: str) -> list[str]:
        return sorted(
            ref.version for ref in self._components if (ref.namespace, ref.name) == (namespace, name)
        )


class LayeredCatalog:
    """Looks in each catalog in turn: e.g. files on the command line before the store."""

    def __init__(self, *catalogs: ComponentCatalog) -> None:
        self._catalogs = catalogs

    def find(self, ref: ComponentRef) -> Component | None:
        return next((c for cat in self._catalogs if (c := cat.find(ref)) is not None), None)

    def versions(self, namespace: str, name: str) -> list[str]:
        return sorted({v for cat in self._catalogs for v in cat.versions(namespace, name)})
