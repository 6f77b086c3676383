"""The published JSON Schemas of definitions (DESIGN §2), generated from the pydantic models.

`schemas/component.schema.json` and `schemas/workflow.schema.json` are produced by this
module and committed, so editors and other tools can validate definitions without Python.
Output is deterministic (sorted keys, fixed indentation) so a test can check that the
committed files still match the models. Regenerate with:

    .venv/bin/python -m chalicelib.domain.schema schemas/
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from chalicelib.domain.models import API_VERSION, Component, Workflow

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_BASE_URL = "https://containerops.dev/schemas/v1/"
REGENERATE_COMMAND = ".venv/bin/python -m chalicelib.domain.schema schemas/"


def _schema_for(model: type[BaseModel], file_name: str, title: str) -> dict[str, Any]:
    body = model.model_json_schema(by_alias=True, mode="validation")
    return {
        **body,
        "$schema": DIALECT,
        "$id": SCHEMA_BASE_URL + file_name,
        "title": title,
    }


def component_schema() -> dict[str, Any]:
    """The JSON Schema of a Component definition."""
    return _schema_for(
        Component, "component.schema.json", f"ContainerOps Component ({API_VERSION})"
    )


def workflow_schema() -> dict[str, Any]:
    """The JSON Schema of a Workflow definition."""
    return _schema_for(Workflow, "workflow.schema.json", f"ContainerOps Workflow ({API_VERSION})")


def render(schema: dict[str, Any]) -> str:
    """The exact text written to a schema file."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def schema_files() -> dict[str, dict[str, Any]]:
    """File name → schema, for every published schema."""
    return {
        "component.schema.json": component_schema(),
        "workflow.schema.json": workflow_schema(),
    }


def write_schemas(directory: Path) -> list[Path]:
    """Write every schema into `directory` (created if missing); return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, schema in schema_files().items():
        path = directory / file_name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m chalicelib.domain.schema DIRECTORY", file=sys.stderr)
        return 2
    for path in write_schemas(Path(argv[0])):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
