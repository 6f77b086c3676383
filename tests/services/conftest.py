"""The API's services over a real SQLite store in tmp_path, without HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib.services.registry import ComponentRegistry
from chalicelib.services.workflow_service import WorkflowService
from chalicelib.store.catalog import StoreCatalog
from chalicelib.store.sqlite import SqliteStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example(relative: str) -> dict[str, Any]:
    """An example definition as the document a client would send."""
    document: dict[str, Any] = yaml.safe_load((EXAMPLES / relative).read_text(encoding="utf-8"))
    return document


def example_components() -> list[dict[str, Any]]:
    return [example(str(path.relative_to(EXAMPLES)))
            for path in sorted((EXAMPLES / "components").glob("*/component.yaml"))]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "services.db") as store:
        yield store


@pytest.fixture
def registry(store: SqliteStore) -> ComponentRegistry:
    return ComponentRegistry(store)


@pytest.fixture
def workflows(store: SqliteStore) -> WorkflowService:
    return WorkflowService(store, StoreCatalog(store))


@pytest.fixture
def published(registry: ComponentRegistry) -> None:
    """The example components are in the registry."""
    for document in example_components():
        registry.publish("containerops", document)
