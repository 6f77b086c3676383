"""Reading definition text: YAML or JSON into a mapping, parse errors as one Problem."""

from __future__ import annotations

import pytest

from chalicelib.domain.loading import MAX_DEFINITION_BYTES, kind_of, parse_document
from chalicelib.errors import InvalidDefinition, Problem


def only_problem(text: str, source: str = "") -> Problem:
    with pytest.raises(InvalidDefinition) as caught:
        parse_document(text, source)
    [problem] = caught.value.problems
    return problem


def test_yaml_document_is_read() -> None:
    text = "kind: Workflow\nspec:\n  stages: [{name: s}]\n"
    assert parse_document(text) == {"kind": "Workflow", "spec": {"stages": [{"name": "s"}]}}


def test_json_document_is_read() -> None:
    assert parse_document('  {"kind": "Component", "spec": {"image": "x"}}') == {
        "kind": "Component",
        "spec": {"image": "x"},
    }


def test_yaml_error_gives_line_and_column() -> None:
    problem = only_problem("kind: Workflow\nspec:\n  stages: [a, b\n  x: 1\n")
    assert problem.path == ""
    assert problem.message.startswith("invalid YAML: ")
    assert "line 4, column 4" in problem.message


def test_yaml_indentation_error_gives_line_and_column() -> None:
    problem = only_problem("a: 1\n b: 2\n")
    assert problem.message.startswith("invalid YAML: ")
    assert "line 2, column 3" in problem.message


def test_json_error_gives_line_and_column() -> None:
    problem = only_problem('{\n  "kind": "Workflow",\n  "spec": ,\n}')
    assert problem.path == ""
    assert problem.message.startswith("invalid JSON at line 3, column 11: ")


def test_parse_error_names_its_source() -> None:
    with pytest.raises(InvalidDefinition) as caught:
        parse_document("{", "flow.json")
    assert caught.value.source == "flow.json"
    assert str(caught.value) == "flow.json: 1 problem(s) in definition"


def test_parse_error_keeps_its_cause() -> None:
    with pytest.raises(InvalidDefinition) as caught:
        parse_document("a: [")
    assert caught.value.__cause__ is not None


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text", "42", "", "   \n", "null", "[1, 2]"])
def test_document_that_is_not_a_mapping_is_rejected(text: str) -> None:
    assert only_problem(text) == Problem("", "a definition must be a mapping of fields")


def test_oversized_document_is_rejected_before_parsing() -> None:
    text = "a: " + "x" * MAX_DEFINITION_BYTES
    assert only_problem(text).message == f"a definition may be at most {MAX_DEFINITION_BYTES} bytes"


def test_yaml_tags_that_build_python_objects_are_refused() -> None:
    problem = only_problem("a: !!python/object/apply:os.system ['true']\n")
    assert problem.message.startswith("invalid YAML: ")


@pytest.mark.parametrize(
    ("document", "kind"),
    [
        ({"kind": "Component", "spec": {"stages": []}}, "Component"),
        ({"kind": "Workflow"}, "Workflow"),
        ({"spec": {"stages": []}}, "Workflow"),
        ({"spec": {"image": "x"}}, "Component"),
        ({}, "Component"),
    ],
)
def test_kind_is_read_or_guessed_from_the_stages(document: dict[str, object], kind: str) -> None:
    assert kind_of(document) == kind


def test_duplicated_key_is_reported_with_its_line() -> None:
    problem = only_problem("kind: Workflow\nspec: {}\nspec: {stages: []}\n")
    assert "line 3" in problem.message
