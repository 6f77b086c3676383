"""Reading, checking and registering definition files (components and workflows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from chalicelib.domain.catalog import ComponentCatalog, InMemoryCatalog, LayeredCatalog
from chalicelib.domain.loading import kind_of, parse_document
from chalicelib.domain.models import Component, Workflow, dump_definition
from chalicelib.domain.validation import check_component, check_workflow
from chalicelib.errors import InvalidDefinition, NotFound, Problem
from chalicelib.store.base import Store


@dataclass
class DefinitionSet:
    """The definitions read from files, each with the file it came from."""

    components: list[tuple[str, Component]] = field(default_factory=list)
    workflows: list[tuple[str, Workflow]] = field(default_factory=list)
    failures: list[InvalidDefinition] = field(default_factory=list)

    @property
    def catalog(self) -> InMemoryCatalog:
        return InMemoryCatalog(component for _, component in self.components)


def read_definitions(paths: list[Path], catalog: ComponentCatalog) -> DefinitionSet:
    """Read every file; components first, so workflows may use components of the same call."""
    documents = []
    result = DefinitionSet()
    for path in paths:
        try:
            documents.append((str(path), parse_document(path.read_text(encoding="utf-8"), str(path))))
        except InvalidDefinition as exc:
            result.failures.append(exc)
        except OSError as exc:
            result.failures.append(InvalidDefinition([Problem("", exc.strerror or str(exc))], str(path)))
    for source, document in documents:
        if kind_of(document) == "Component":
            checked_component = check_component(document)
            if checked_component.model is not None:
                result.components.append((source, checked_component.model))
            else:
                result.failures.append(InvalidDefinition(checked_component.problems, source))
    combined = LayeredCatalog(result.catalog, catalog)
    for source, document in documents:
        if kind_of(document) != "Component":
            checked_workflow = check_workflow(document, combined)
            if checked_workflow.model is not None:
                result.workflows.append((source, checked_workflow.model))
            else:
                result.failures.append(InvalidDefinition(checked_workflow.problems, source))
    return result


def save_workflow_if_changed(store: Store, workflow: Workflow) -> int:
    """The version to run: the latest one if it is identical, otherwise a new one."""
    try:
        latest = store.get_workflow(workflow.metadata.namespace, workflow.metadata.name)
    except NotFound:
        return store.save_workflow(workflow, expected_version=0)
    if dump_definition(latest.workflow) == dump_definition(workflow):
        return latest.version
    return store.save_workflow(workflow, expected_version=latest.version)
