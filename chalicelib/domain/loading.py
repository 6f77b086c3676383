"""Reading definition text (YAML or JSON) into documents, with parse errors as Problems."""

from __future__ import annotations

import json
from typing import Any

import yaml

from chalicelib.errors import InvalidDefinition, Problem

MAX_DEFINITION_BYTES = 1024 * 1024


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice instead of keeping the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_document(text: str, source: str = "") -> dict[str, Any]:
    """The mapping in a YAML or JSON text; anything else raises InvalidDefinition."""
    if len(text.encode()) > MAX_DEFINITION_BYTES:
        raise InvalidDefinition(
            [Problem("", f"a definition may be at most {MAX_DEFINITION_BYTES} bytes")], source
        )
    try:
        document = json.loads(text) if text.lstrip().startswith("{") else yaml.load(text, _StrictLoader)
    except json.JSONDecodeError as exc:
        raise InvalidDefinition(
            [Problem("", f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")], source
        ) from exc
    except yaml.YAMLError as exc:
        raise InvalidDefinition([Problem("", f"invalid YAML: {_yaml_reason(exc)}")], source) from exc
    if not isinstance(document, dict):
        raise InvalidDefinition([Problem("", "a definition must be a mapping of fields")], source)
    return document


def _yaml_reason(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return str(problem)


def kind_of(document: dict[str, Any]) -> str:
    """'Component' or 'Workflow' (a document without kind but with stages is a Workflow)."""
    kind = document.get("kind")
    if isinstance(kind, str):
        return kind
    spec = document.get("spec")
    return "Workflow" if isinstance(spec, dict) and "stages" in spec else "Component"
