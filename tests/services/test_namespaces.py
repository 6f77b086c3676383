"""The namespace list, without HTTP."""

from __future__ import annotations

import pytest

from chalicelib.errors import InvalidRequest
from chalicelib.services.namespaces import namespace_list
from chalicelib.services.workflow_service import WorkflowService
from chalicelib.store.sqlite import SqliteStore
from tests.services.conftest import example


def test_the_list_names_each_namespace_holding_components_or_workflows_once(
    store: SqliteStore, published: None, workflows: WorkflowService
) -> None:
    workflows.create("examples", example("workflows/hello.yaml"))
    workflows.create("examples", example("workflows/ci.yaml"))
    assert namespace_list(store) == {"namespaces": ["containerops", "examples"]}


def test_the_registry_asks_only_for_the_namespaces_holding_components(
    store: SqliteStore, published: None, workflows: WorkflowService
) -> None:
    workflows.create("examples", example("workflows/hello.yaml"))
    assert namespace_list(store, "components") == {"namespaces": ["containerops"]}
    with pytest.raises(InvalidRequest, match="'holding' must be one of: components"):
        namespace_list(store, "workflows")


def test_deleting_the_last_workflow_of_a_namespace_drops_it_from_the_list(
    store: SqliteStore, workflows: WorkflowService
) -> None:
    workflows.create("examples", example("workflows/hello.yaml"))
    workflows.delete("examples", "hello")
    assert namespace_list(store) == {"namespaces": []}
