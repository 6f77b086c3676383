"""The namespaces a user can browse: every one that holds a component or a live workflow, or
only those holding components (what the registry offers: a namespace of workflows alone has
nothing to show there).

A namespace is not a thing of its own; it exists while something is kept in it, so the
list is read from the store each time (a deleted workflow no longer keeps one alive).
"""

from __future__ import annotations

from chalicelib.errors import InvalidRequest
from chalicelib.store.base import Store

HOLDINGS = ("components",)


def namespace_list(store: Store, holding: str | None = None) -> dict[str, list[str]]:
    """`{"namespaces": [...]}`, sorted, each namespace once; with `holding="components"`,
    only the namespaces that hold a component."""
    if holding is None:
        return {"namespaces": store.list_namespaces()}
    if holding not in HOLDINGS:
        raise InvalidRequest(f"query parameter 'holding' must be one of: {', '.join(HOLDINGS)}")
    return {"namespaces": store.component_namespaces()}
