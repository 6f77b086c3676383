"""The `${{ }}` expression language: templates, references and conditions, never `eval`.

Grammar (an `if` or the inside of `${{ }}`):

    expr    := or
    or      := and ("||" and)*
    and     := unary ("&&" unary)*
    unary   := "!" unary | compare
    compare := primary (("==" | "!=") primary)?
    primary := "(" expr ")" | string | number | true | false | null | reference
    reference := name ("." name | "[" string "]" | "[" number "]")*
                 e.g. jobs.build.outputs.IMAGE, jobs.test.instances[3].outputs.COUNT

Values at run time are strings (outputs, params), numbers, booleans or None. Comparison
is loose the way CI users expect: `'1' == 1`, `'TRUE' == true`. A missing reference is
empty text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeAlias

Value: TypeAlias = str | int | float | bool | None


class ExpressionError(ValueError):
    """An expression that does not parse; the message says where and why."""


@dataclass(frozen=True)
class Literal:
    value: Value


@dataclass(frozen=True)
class Reference:
    parts: tuple[str, ...]
    # The positions in `parts` written as an index, `[3]` (the part is its digits): what tells
    # `instances[3]` from a name, and how `str` writes it back.
    indexes: tuple[int, ...] = ()

    def __str__(self) -> str:
        text = self.parts[0] if self.parts else ""
        for position, part in enumerate(self.parts[1:], start=1):
            text += f"[{part}]" if position in self.indexes else f".{part}"
        return text

    def index_at(self, position: int) -> int | None:
        """The number written as `[n]` at `position` of the parts; None when it is no index."""
        return int(self.parts[position]) if position in self.indexes else None


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class Binary:
    operator: str  # one of == != && ||
    left: Node
    right: Node


Node: TypeAlias = "Literal | Reference | Not | Binary"

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<operator>==|!=|&&|\|\||!|\(|\)|\.|\[|\])
      | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
    )""",
    re.VERBOSE,
)


def _tokens(text: str) -> Iterator[tuple[str, str, int]]:
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            return
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            at = len(text) - len(text[position:].lstrip())  # the bad character, not the blanks
            raise ExpressionError(f"unexpected '{text[at]}' at position {at + 1} in '{text}'")
        kind = match.lastgroup or ""
        yield kind, match.group(kind), match.start(kind)
        position = match.end()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = list(_tokens(text))
        self.index = 0

    def parse(self) -> Node:
        if not self.tokens:
            raise ExpressionError("empty expression")
        node = self._or()
        if self.index < len(self.tokens):
            _, value, position = self.tokens[self.index]
            raise ExpressionError(f"unexpected '{value}' at position {position + 1} in '{self.text}'")
        return node

    def _peek(self) -> str | None:
        return self.tokens[self.index][1] if self.index < len(self.tokens) else None

    def _take(self) -> tuple[str, str, int]:
        if self.index >= len(self.tokens):
            raise ExpressionError(f"'{self.text}' ends too early")
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _expect(self, symbol: str) -> None:
        kind, value, position = self._take()
        if value != symbol or kind != "operator":
            raise ExpressionError(f"expected '{symbol}' at position {position + 1} in '{self.text}'")

    def _or(self) -> Node:
        node = self._and()
        while self._peek() == "||":
            self._take()
            node = Binary("||", node, self._and())
        return node

    def _and(self) -> Node:
        node = self._unary()
        while self._peek() == "&&":
            self._take()
            node = Binary("&&", node, self._unary())
        return node

    def _unary(self) -> Node:
        if self._peek() == "!":
            self._take()
            return Not(self._unary())
        return self._compare()

    def _compare(self) -> Node:
        node = self._primary()
        if self._peek() in ("==", "!="):
            operator = self._take()[1]
            node = Binary(operator, node, self._primary())
        return node

    def _primary(self) -> Node:
        kind, value, position = self._take()
        if kind == "operator" and value == "(":
            node = self._or()
            self._expect(")")
            return node
        if kind == "string":
            return Literal(_unquote(value))
        if kind == "number":
            return Literal(float(value) if "." in value else int(value))
        if kind == "name":
            keyword = {"true": True, "false": False, "null": None}
            if value in keyword:
                return Literal(keyword[value])
            return self._reference(value)
        raise ExpressionError(f"unexpected '{value}' at position {position + 1} in '{self.text}'")

    def _reference(self, first: str) -> Reference:
        parts = [first]
        indexes: list[int] = []
        while self._peek() in (".", "["):
            if self._take()[1] == ".":
                kind, value, position = self._take()
                if kind not in ("name", "number"):
                    raise ExpressionError(
                        f"expected a name after '.' at position {position + 1} in '{self.text}'"
                    )
                parts.append(value)
            else:
                kind, value, position = self._take()
                if kind == "number" and value.isdigit():
                    indexes.append(len(parts))
                    parts.append(str(int(value)))
                elif kind == "string":
                    parts.append(_unquote(value))
                else:
                    raise ExpressionError(
                        f"expected a quoted key or an index (0, 1, ...) after '[' at position"
                        f" {position + 1} in '{self.text}'"
                    )
                self._expect("]")
        return Reference(tuple(parts), tuple(indexes))


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1])


def parse_expression(text: str) -> Node:
    return _Parser(text).parse()


# --- templates -----------------------------------------------------------------------

@dataclass(frozen=True)
class Template:
    """A string with `${{ }}` parts: literal text and expressions, in order."""

    parts: tuple[str | Node, ...]

    def references(self) -> list[Reference]:
        return [ref for part in self.parts if not isinstance(part, str) for ref in references_in(part)]


def parse_template(text: str) -> Template:
    parts: list[str | Node] = []
    position = 0
    while True:
        start = text.find("${{", position)
        if start < 0:
            if position < len(text):
                parts.append(text[position:])
            return Template(tuple(parts))
        if start > position:
            parts.append(text[position:start])
        end = _closing_braces(text, start + 3)
        if end < 0:
            raise ExpressionError(f"'${{{{' at position {start + 1} is never closed with '}}}}'")
        inner = text[start + 3:end]
        parts.append(parse_expression(inner))
        position = end + 2


def _closing_braces(text: str, position: int) -> int:
    quote = ""
    while position < len(text) - 1:
        char = text[position]
        if quote:
            if char == "\\":
                position += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif text.startswith("}}", position):
            return position
        position += 1
    return -1


def parse_condition(text: str) -> Node:
    """An `if`: either a bare expression or one wrapped in `${{ }}`."""
    stripped = text.strip()
    if stripped.startswith("${{") and stripped.endswith("}}"):
        template = parse_template(stripped)
        if len(template.parts) == 1 and not isinstance(template.parts[0], str):
            return template.parts[0]
    return parse_expression(stripped)


def references_in(node: Node) -> Iterator[Reference]:
    if isinstance(node, Reference):
        yield node
    elif isinstance(node, Not):
        yield from references_in(node.operand)
    elif isinstance(node, Binary):
        yield from references_in(node.left)
        yield from references_in(node.right)


# --- evaluation ----------------------------------------------------------------------

Resolver = Callable[[Reference], Value]


def evaluate(node: Node, resolve: Resolver) -> Value:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Reference):
        return resolve(node)
    if isinstance(node, Not):
        return not is_truthy(evaluate(node.operand, resolve))
    if node.operator == "&&":
        return is_truthy(evaluate(node.left, resolve)) and is_truthy(evaluate(node.right, resolve))
    if node.operator == "||":
        return is_truthy(evaluate(node.left, resolve)) or is_truthy(evaluate(node.right, resolve))
    same = loosely_equal(evaluate(node.left, resolve), evaluate(node.right, resolve))
    return same if node.operator == "==" else not same


def render(template: Template, resolve: Resolver) -> str:
    return "".join(
        part if isinstance(part, str) else as_text(evaluate(part, resolve))
        for part in template.parts
    )


def as_text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def is_truthy(value: Value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0", "no", "null")
    return bool(value)


def loosely_equal(left: Value, right: Value) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return is_truthy(left) == is_truthy(right)
    numbers = _as_number(left), _as_number(right)
    if numbers[0] is not None and numbers[1] is not None:
        return numbers[0] == numbers[1]
    return as_text(left) == as_text(right)


def _as_number(value: Value) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        # 'nan', 'inf', 'infinity' are words to a CI user, not numbers: compare them as text
        return number if math.isfinite(number) else None
    return None
