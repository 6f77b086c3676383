"""The component registry's use cases, without HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.errors import Conflict, InvalidDefinition, NotFound
from chalicelib.services.registry import ComponentRegistry
from chalicelib.store.sqlite import SqliteStore
from tests.services.conftest import example, example_components


def _pytest_at(version: str) -> dict[str, Any]:
    document = example("components/pytest/component.yaml")
    document["metadata"]["version"] = version
    return document


def test_publishing_answers_the_entry_that_get_answers_later(registry: ComponentRegistry) -> None:
    entry = registry.publish("containerops", _pytest_at("1.0.0"))
    assert entry == registry.get("containerops", "pytest", "1.0.0")
    assert entry["deprecated"] is False
    assert entry["definition"]["metadata"]["version"] == "1.0.0"
    assert set(entry) == {"namespace", "name", "version", "description", "deprecated",
                          "created_at", "definition"}


def test_every_example_component_publishes(registry: ComponentRegistry) -> None:
    for document in example_components():
        registry.publish("containerops", document)
    names = [entry["name"] for entry in registry.list_components("containerops")["components"]]
    assert names == ["flake8-lint", "git-clone", "package", "pytest", "release", "shard-tests"]


def test_a_version_published_twice_is_a_conflict_even_when_identical(registry: ComponentRegistry) -> None:
    registry.publish("containerops", _pytest_at("1.0.0"))
    with pytest.raises(Conflict, match="immutable"):
        registry.publish("containerops", _pytest_at("1.0.0"))


def test_a_version_published_again_with_other_content_keeps_the_first(registry: ComponentRegistry) -> None:
    registry.publish("containerops", _pytest_at("1.0.0"))
    changed = _pytest_at("1.0.0")
    changed["spec"]["image"] = "other/image:2"
    with pytest.raises(Conflict):
        registry.publish("containerops", changed)
    entry = registry.get("containerops", "pytest", "1.0.0")
    assert entry["definition"]["spec"]["image"] == "containerops/pytest:1.0.0"


def test_problems_and_a_namespace_mismatch_are_reported_together(
    registry: ComponentRegistry, store: SqliteStore
) -> None:
    document = _pytest_at("1.0.0")
    document["spec"]["imagee"] = "typo"
    with pytest.raises(InvalidDefinition) as raised:
        registry.publish("elsewhere", document)
    paths = {(problem.path, problem.message) for problem in raised.value.problems}
    assert ("spec", "unknown field 'imagee'") in paths
    assert any(path == "metadata.namespace" for path, _ in paths)
    assert store.list_components() == []


def test_a_document_that_is_not_a_mapping_is_an_invalid_definition(registry: ComponentRegistry) -> None:
    with pytest.raises(InvalidDefinition):
        registry.publish("containerops", ["not", "a", "mapping"])


def test_versions_come_in_version_order_and_an_unknown_component_has_none(
    registry: ComponentRegistry
) -> None:
    for version in ("2.0.0", "1.10.0", "1.9.0"):
        registry.publish("containerops", _pytest_at(version))
    versions = registry.versions("containerops", "pytest")["versions"]
    assert [entry["version"] for entry in versions] == ["1.9.0", "1.10.0", "2.0.0"]
    with pytest.raises(NotFound):
        registry.versions("containerops", "nothing")


def test_the_list_filters_by_name(registry: ComponentRegistry) -> None:
    for document in example_components():
        registry.publish("containerops", document)
    only = registry.list_components("containerops", "release")["components"]
    assert [entry["name"] for entry in only] == ["release"]
    assert registry.list_components("containerops", "nothing") == {"components": []}


def test_a_deprecated_version_is_left_out_only_when_asked_and_stays_readable(
    registry: ComponentRegistry
) -> None:
    registry.publish("containerops", _pytest_at("1.0.0"))
    registry.publish("containerops", _pytest_at("1.1.0"))
    assert registry.set_deprecated("containerops", "pytest", "1.0.0", True)["deprecated"] is True
    listed = registry.list_components("containerops", include_deprecated=False)["components"]
    assert [entry["version"] for entry in listed] == ["1.1.0"]
    assert len(registry.list_components("containerops")["components"]) == 2
    assert registry.get("containerops", "pytest", "1.0.0")["deprecated"] is True
    assert registry.set_deprecated("containerops", "pytest", "1.0.0", False)["deprecated"] is False


def test_unknown_versions_are_not_found(registry: ComponentRegistry) -> None:
    registry.publish("containerops", _pytest_at("1.0.0"))
    with pytest.raises(NotFound):
        registry.get("containerops", "pytest", "1.0.1")
    with pytest.raises(NotFound):
        registry.get("other", "pytest", "1.0.0")
    with pytest.raises(NotFound):
        registry.set_deprecated("containerops", "pytest", "3.0.0", True)

