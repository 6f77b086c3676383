"""The namespaces a user can browse: every one that holds a component or a live workflow.

A namespace is not a thing of its own; it exists while something is kept in it, so the
list is read from the store each time (a deleted workflow no longer keeps one alive).
"""

from __future__ import annotations

from chalicelib.store.base import Store


def namespace_list(store: Store) -> dict[str, list[str]]:
    """`{"namespaces": [...]}`, sorted, each namespace once."""
    return {"namespaces": store.list_namespaces()}
