"""Golden files: each example workflow compiles to exactly the ASL kept in tests/asl/golden/.

The examples (examples/workflows/*.yaml) and tests/asl/workflows/every-feature.yaml are
compiled with the example components and a fixed queue URL, and compared byte for byte
with `golden/<name>.asl.json` (indented as `containerops compile` prints it). After a
deliberate change to the compiler, regenerate them and review the diff:

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/asl/test_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chalicelib.asl import compile_workflow
from chalicelib.asl.render import definition_text
from chalicelib.domain.catalog import InMemoryCatalog
from tests.asl.conftest import HERE, TARGET, WORKFLOW_FILES, load_workflow

GOLDEN = HERE / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def golden_file(workflow_file: Path) -> Path:
    return GOLDEN / f"{workflow_file.stem}.asl.json"


@pytest.mark.parametrize("workflow_file", WORKFLOW_FILES, ids=lambda path: path.stem)
def test_the_workflow_compiles_to_its_golden_file(
    workflow_file: Path, examples_catalog: InMemoryCatalog
) -> None:
    compiled = compile_workflow(load_workflow(workflow_file), examples_catalog, TARGET)
    text = definition_text(compiled.definition, indent=2)
    golden = golden_file(workflow_file)
    if UPDATE:
        golden.write_text(text, encoding="utf-8")

    assert golden.exists(), f"no {golden.name}: run with UPDATE_GOLDEN=1 to create it"
    assert text == golden.read_text(encoding="utf-8")


def test_every_golden_file_belongs_to_a_workflow_that_is_still_compiled() -> None:
    expected = {golden_file(path).name for path in WORKFLOW_FILES}

    assert {path.name for path in GOLDEN.glob("*.asl.json")} == expected
