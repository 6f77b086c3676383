"""The `${{ }}` language: parsing, evaluation, templates, and that it is never Python `eval`."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.expressions import (
    Binary,
    ExpressionError,
    Literal,
    Not,
    Reference,
    Value,
    as_text,
    evaluate,
    is_truthy,
    loosely_equal,
    parse_condition,
    parse_expression,
    parse_template,
    references_in,
    render,
)

CONTEXT: dict[str, Any] = {
    "params": {"branch": "main", "debug": "false", "count": "3", "flag": "TRUE"},
    "jobs": {"build": {"outputs": {"IMAGE": "demo/app:1", "CHANGED": "true", "EMPTY": ""}}},
    "trigger": {"commits": [{"id": "abc123"}], "with.dot": "yes"},
    "run": {"id": "run-42"},
}


def resolve(reference: Reference) -> Value:
    value: Any = CONTEXT
    for part in reference.parts:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def run(text: str) -> Value:
    return evaluate(parse_expression(text), resolve)


def fill(text: str) -> str:
    return render(parse_template(text), resolve)


def parse_error(text: str) -> str:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text)
    return str(caught.value)


# --- parsing ----------------------------------------------------------------------------


def test_reference_is_parsed_into_its_parts() -> None:
    assert parse_expression("jobs.build.outputs.IMAGE") == Reference(
        ("jobs", "build", "outputs", "IMAGE")
    )


def test_bracket_keys_and_numeric_parts_are_reference_parts() -> None:
    assert parse_expression("trigger['with.dot']") == Reference(("trigger", "with.dot"))
    assert parse_expression("trigger.commits.0.id") == Reference(("trigger", "commits", "0", "id"))


def test_names_may_contain_dashes() -> None:
    assert parse_expression("params.git-url") == Reference(("params", "git-url"))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("'single'", "single"),
        ('"double"', "double"),
        (r"'it\'s'", "it's"),
        ("42", 42),
        ("-7", -7),
        ("1.5", 1.5),
        ("true", True),
        ("false", False),
        ("null", None),
    ],
)
def test_literals(text: str, value: Value) -> None:
    assert parse_expression(text) == Literal(value)


def test_and_binds_tighter_than_or() -> None:
    assert parse_expression("a || b && c") == Binary(
        "||", Reference(("a",)), Binary("&&", Reference(("b",)), Reference(("c",)))
    )


def test_comparison_binds_tighter_than_and() -> None:
    assert parse_expression("a == 'x' && b != 'y'") == Binary(
        "&&",
        Binary("==", Reference(("a",)), Literal("x")),
        Binary("!=", Reference(("b",)), Literal("y")),
    )


def test_parentheses_override_precedence() -> None:
    assert parse_expression("(a || b) && c") == Binary(
        "&&", Binary("||", Reference(("a",)), Reference(("b",))), Reference(("c",))
    )


def test_not_applies_to_the_comparison_that_follows_it() -> None:
    # The grammar puts `!` above comparison: `!a == b` reads as `!(a == b)`.
    assert parse_expression("!a == 'x'") == Not(Binary("==", Reference(("a",)), Literal("x")))
    assert parse_expression("!!a") == Not(Not(Reference(("a",))))


def test_references_in_lists_every_reference_in_order() -> None:
    node = parse_expression("!(params.a == 'x') || jobs.b.outputs.C && run.id")
    assert [str(ref) for ref in references_in(node)] == ["params.a", "jobs.b.outputs.C", "run.id"]


# --- parse errors -----------------------------------------------------------------------


def test_empty_expression_is_an_error() -> None:
    assert parse_error("   ") == "empty expression"


def test_error_names_the_unexpected_character_and_its_position() -> None:
    assert parse_error("a = b") == "unexpected '=' at position 3 in 'a = b'"


def test_error_position_points_at_the_character_not_the_blanks_before_it() -> None:
    assert parse_error("a   @ b") == "unexpected '@' at position 5 in 'a   @ b'"


def test_error_for_a_trailing_token_names_it() -> None:
    assert parse_error("a b") == "unexpected 'b' at position 3 in 'a b'"


def test_expression_that_stops_midway_says_it_ends_too_early() -> None:
    assert parse_error("a ==") == "'a ==' ends too early"
    assert "ends too early" in parse_error("(a")


def test_unclosed_parenthesis_is_an_error() -> None:
    assert parse_error("(a b") == "expected ')' at position 4 in '(a b'"


def test_chained_comparison_is_an_error() -> None:
    assert "unexpected '=='" in parse_error("a == b == c")


@pytest.mark.parametrize("text", ["'unterminated", "a &", "a | b", "a.", "a[b]", "a['b'", "1 +"])
def test_malformed_expressions_do_not_parse(text: str) -> None:
    parse_error(text)


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "__import__('os').system('true')",
        "open('/etc/passwd')",
        "params.x.__class__()",
        "1 + 1",
        "[x for x in ()]",
        "lambda: 1",
        "a if b else c",
        "f'{a}'",
    ],
)
def test_python_code_does_not_parse(text: str) -> None:
    parse_error(text)


def test_dunder_names_are_only_references_that_resolve_through_the_context() -> None:
    node = parse_expression("__class__")
    assert node == Reference(("__class__",))
    assert evaluate(node, resolve) is None


# --- evaluation -------------------------------------------------------------------------


def test_reference_evaluates_through_the_resolver() -> None:
    assert run("jobs.build.outputs.IMAGE") == "demo/app:1"
    assert run("trigger.commits.0.id") == "abc123"
    assert run("trigger['with.dot']") == "yes"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("params.branch == 'main'", True),
        ("params.branch != 'main'", False),
        ('params.branch == "main"', True),
        ("params.count == 3", True),
        ("params.count == 3.0", True),
        ("'1' == 1", True),
        ("'01' == 1", True),
        ("'TRUE' == true", True),
        ("params.flag == true", True),
        ("params.debug == false", True),
        ("'0' == false", True),
        ("'' == false", True),
        ("null == ''", True),
        ("null == false", True),
        ("'Main' == 'main'", False),
        ("'abc' == 1", False),
        ("jobs.build.outputs.CHANGED == 'true'", True),
        ("jobs.build.outputs.CHANGED == true", True),
    ],
)
def test_comparison_is_loose(text: str, expected: bool) -> None:
    assert run(text) is expected


def test_text_that_python_reads_as_a_special_float_compares_as_text() -> None:
    assert loosely_equal("nan", "nan")
    assert loosely_equal("NaN", "NaN")
    assert not loosely_equal("inf", "infinity")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true && false", False),
        ("true || false", True),
        ("!true", False),
        ("!params.debug", True),
        ("!(params.branch == 'main')", False),
        ("params.branch == 'dev' || params.count == 3", True),
        ("params.branch == 'main' && params.debug", False),
        ("false && true || true", True),
        ("false && (true || true)", False),
    ],
)
def test_boolean_operators(text: str, expected: bool) -> None:
    assert run(text) is expected


@pytest.mark.parametrize(
    ("value", "truthy"),
    [
        ("main", True),
        ("1", True),
        ("true", True),
        (" yes ", True),
        ("", False),
        ("   ", False),
        ("false", False),
        ("FALSE", False),
        ("0", False),
        ("no", False),
        ("null", False),
        (None, False),
        (0, False),
        (0.0, False),
        (2, True),
        (True, True),
        (False, False),
    ],
)
def test_truthiness(value: Value, truthy: bool) -> None:
    assert is_truthy(value) is truthy


def test_missing_reference_is_falsy_and_empty_text() -> None:
    assert run("!params.nope") is True
    assert fill("[${{ params.nope }}]") == "[]"


def test_or_and_and_do_not_evaluate_the_right_side_when_not_needed() -> None:
    seen: list[str] = []

    def recording(reference: Reference) -> Value:
        seen.append(str(reference))
        return resolve(reference)

    evaluate(parse_expression("true || params.a"), recording)
    evaluate(parse_expression("false && params.b"), recording)
    assert seen == []


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), (True, "true"), (False, "false"), (3, "3"), (3.0, "3"), (2.5, "2.5"), ("x", "x")],
)
def test_values_become_text(value: Value, text: str) -> None:
    assert as_text(value) == text


# --- templates --------------------------------------------------------------------------


def test_text_without_expressions_is_unchanged() -> None:
    assert fill("plain text with } and {{ braces }}") == "plain text with } and {{ braces }}"
    assert fill("") == ""


def test_template_with_several_expressions_renders_each_in_place() -> None:
    assert fill("${{ params.branch }}-${{ run.id }}: ${{jobs.build.outputs.IMAGE}}!") == (
        "main-run-42: demo/app:1!"
    )


def test_template_renders_conditions_as_true_or_false() -> None:
    assert fill("changed=${{ jobs.build.outputs.CHANGED == 'true' }}") == "changed=true"


def test_template_references_are_listed_in_order() -> None:
    template = parse_template("${{ params.a }} and ${{ jobs.b.outputs.C == run.id }}")
    assert [str(ref) for ref in template.references()] == ["params.a", "jobs.b.outputs.C", "run.id"]


@pytest.mark.parametrize("quote", ["'", '"'])
def test_closing_braces_inside_quotes_do_not_end_the_expression(quote: str) -> None:
    text = f"${{{{ params.branch == {quote}}}}}{quote} }}}}-after"
    template = parse_template(text)
    assert template.parts[-1] == "-after"
    assert fill(text) == "false-after"


def test_escaped_quote_inside_a_string_does_not_end_it() -> None:
    assert fill(r"${{ 'it\'s }}' }}") == "it's }}"


def test_unclosed_template_is_an_error_with_its_position() -> None:
    with pytest.raises(ExpressionError, match=r"'\$\{\{' at position 5 is never closed"):
        parse_template("abc ${{ params.a ")


def test_expression_error_inside_a_template_is_reported() -> None:
    with pytest.raises(ExpressionError, match="unexpected '='"):
        parse_template("x ${{ params.a = 'b' }} y")


def test_empty_template_expression_is_an_error() -> None:
    with pytest.raises(ExpressionError, match="empty expression"):
        parse_template("${{ }}")


# --- conditions -------------------------------------------------------------------------


def test_condition_may_be_bare_or_wrapped() -> None:
    bare = parse_condition("jobs.build.outputs.CHANGED == 'true'")
    assert parse_condition("${{ jobs.build.outputs.CHANGED == 'true' }}") == bare
    assert parse_condition("  ${{ jobs.build.outputs.CHANGED == 'true' }}  ") == bare


def test_condition_with_text_around_the_expression_does_not_parse() -> None:
    with pytest.raises(ExpressionError):
        parse_condition("${{ params.a }} && ${{ params.b }}")


# --- indexes (fan-out instances) -------------------------------------------------------

def test_a_number_in_brackets_is_an_index_part_of_a_reference() -> None:
    reference = parse_expression("jobs.test.instances[3].outputs.COUNT")
    assert isinstance(reference, Reference)
    assert reference.parts == ("jobs", "test", "instances", "3", "outputs", "COUNT")
    assert reference.index_at(3) == 3
    assert reference.index_at(1) is None
    assert str(reference) == "jobs.test.instances[3].outputs.COUNT"


def test_an_index_differs_from_a_name_made_of_digits() -> None:
    assert parse_expression("a.b[0]") != parse_expression("a.b.0")


def test_a_negative_or_fractional_index_does_not_parse() -> None:
    for text in ("jobs.t.instances[-1]", "jobs.t.instances[1.5]", "jobs.t.instances[x]"):
        with pytest.raises(ExpressionError, match="an index"):
            parse_expression(text)


def test_a_quoted_key_in_brackets_still_reads_as_a_name() -> None:
    reference = parse_expression("trigger['head-commit']")
    assert isinstance(reference, Reference)
    assert reference == Reference(("trigger", "head-commit"))
