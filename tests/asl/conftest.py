"""Shared helpers for the ASL compiler's tests: the example definitions, a fixed target, and
ways to look at a compiled machine (every state, nested ones included)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chalicelib.asl import CompiledMachine, Target, compile_workflow
from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.domain.models import Workflow
from chalicelib.services.definitions import read_definitions
from tests.builders import workflow

REPO_TOP = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_TOP / "examples"
HERE = Path(__file__).resolve().parent
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/containerops-launch"
ITEMS_BUCKET = "containerops-workspaces"
TARGET = Target(QUEUE_URL, items_bucket=ITEMS_BUCKET)

# The example workflows, and those of this folder that use every shape the compiler knows.
WORKFLOW_FILES = [*sorted(EXAMPLES.glob("workflows/*.yaml")), HERE / "workflows" / "every-feature.yaml",
                  HERE / "workflows" / "fan-out.yaml"]


def example_catalog() -> InMemoryCatalog:
    loaded = read_definitions(sorted(EXAMPLES.glob("components/*/component.yaml")), InMemoryCatalog())
    assert not loaded.failures, loaded.failures
    return loaded.catalog


def load_workflow(path: Path) -> Workflow:
    loaded = read_definitions([path], example_catalog())
    assert not loaded.failures, loaded.failures
    return loaded.workflows[0][1]


def compile_stages(*stages: dict[str, Any], target: Target = TARGET, **spec: Any) -> CompiledMachine:
    return compile_workflow(workflow(*stages, **spec), InMemoryCatalog(), target)


def all_states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every state of a machine by name, those inside Parallel branches and Maps too."""
    found: dict[str, dict[str, Any]] = {}
    for name, state in definition["States"].items():
        found[name] = state
        for branch in [*state.get("Branches", []), *filter(None, [state.get("ItemProcessor")])]:
            found.update(all_states(branch))
    return found


def chain(definition: dict[str, Any]) -> list[str]:
    """The names of a chain's states in the order they run, following Next from StartAt."""
    names, current = [], definition["StartAt"]
    while True:
        names.append(current)
        state = definition["States"][current]
        if state.get("End"):
            return names
        current = state["Next"]


@pytest.fixture(scope="session")
def examples_catalog() -> InMemoryCatalog:
    return example_catalog()
