"""Label and field selectors of the Kubernetes API, parsed as the API server parses them (pure).

A label selector is requirements joined by commas, all of which must hold: `key=value`
(`==` too), `key!=value` (true when the label is missing), `key` (the label exists), `!key`
(it does not), `key in (a,b)`, `key notin (a,b)`. A field selector is `field=value`
(`==`), `field!=value` joined by commas, `\\` escaping `,`, `=` and `\\` in values, over
the fields the resource supports (`FIELDS`); any other field is a 400 `field label not
supported`, as the API answers. A malformed selector is a 400 too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.sandbox.kubernetes_objects import EVENTS, JOBS, PODS, ApiError, Resource, bad_request

Matcher = Callable[[Mapping[str, Any]], bool]

_KEY = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_SET = re.compile(r"^(?P<key>\S+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)$")
_EQUALITY = re.compile(r"^(?P<key>[^=!\s]+)\s*(?P<op>==|=|!=)\s*(?P<value>\S*)$")


def _get(path: str) -> Callable[[Mapping[str, Any]], str]:
    parts = path.split(".")

    def read(document: Mapping[str, Any]) -> str:
        value: Any = document
        for part in parts:
            value = value.get(part) if isinstance(value, Mapping) else None
        return "" if value is None else str(value)

    return read


def _source(event: Mapping[str, Any]) -> str:
    return str((event.get("source") or {}).get("component") or "")


_COMMON = ("metadata.name", "metadata.namespace")
FIELDS: dict[Resource, dict[str, Callable[[Mapping[str, Any]], str]]] = {
    JOBS: {**{f: _get(f) for f in _COMMON}, "status.successful": _get("status.succeeded")},
    PODS: {f: _get(f) for f in (*_COMMON, "spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                                "spec.serviceAccountName", "status.phase", "status.podIP")},
    EVENTS: {**{f: _get(f) for f in (*_COMMON, "involvedObject.kind", "involvedObject.namespace",
                                     "involvedObject.name", "involvedObject.uid", "involvedObject.apiVersion",
                                     "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                                     "reportingComponent", "type")},
             "source": _source},
}


def label_matcher(selector: str) -> Matcher:
    """Whether an object's `metadata.labels` satisfy `selector` (an empty one: every object)."""
    tests = [_label_requirement(part.strip()) for part in _split_requirements(selector) if part.strip()]

    def matches(document: Mapping[str, Any]) -> bool:
        labels = (document.get("metadata") or {}).get("labels") or {}
        return all(test(labels) for test in tests)

    return matches


def field_matcher(resource: Resource, selector: str) -> Matcher:
    """Whether an object's fields satisfy `selector`; 400 for a field the resource has not."""
    supported = FIELDS.get(resource, {f: _get(f) for f in _COMMON})
    tests: list[Matcher] = []
    for part in _split_escaped(selector):
        if not part:
            continue
        match = re.fullmatch(r"(?P<field>[^=!]+)(?P<op>==|=|!=)(?P<value>.*)", part, re.S)
        if match is None:
            raise bad_request(f'invalid selector: \'{selector}\'; can\'t understand \'{part}\'')
        field, op, value = match["field"].strip(), match["op"], _unescape(match["value"])
        if field not in supported:
            raise bad_request(f"field label not supported: {field}")
        tests.append(_field_test(supported[field], value, equal=op != "!="))
    return lambda document: all(test(document) for test in tests)


def _field_test(read: Callable[[Mapping[str, Any]], str], value: str, *, equal: bool) -> Matcher:
    return lambda document: (read(document) == value) == equal


def _label_requirement(text: str) -> Callable[[Mapping[str, str]], bool]:
    def problem(why: str) -> ApiError:
        return bad_request(f"unable to parse requirement: {why}: {text!r}")

    if text.startswith("!"):
        key = text[1:].strip()
        _check_key(key, problem)
        return lambda labels: key not in labels
    if match := _SET.match(text):
        key, values = match["key"], {v.strip() for v in match["values"].split(",") if v.strip()}
        _check_key(key, problem)
        for value in values:
            _check_value(value, problem)
        if match["op"] == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: key not in labels or labels[key] not in values
    if match := _EQUALITY.match(text):
        key, op, value = match["key"], match["op"], match["value"]
        _check_key(key, problem)
        _check_value(value, problem)
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: key in labels and labels[key] == value
    _check_key(text, problem)
    return lambda labels: text in labels


def _check_key(key: str, problem: Callable[[str], ApiError]) -> None:
    name = key.rsplit("/", 1)[-1]
    if not _KEY.fullmatch(key) or len(name) > 63:
        raise problem(f"invalid label key {key!r}")


def _check_value(value: str, problem: Callable[[str], ApiError]) -> None:
    if len(value) > 63 or not _VALUE.fullmatch(value):
        raise problem(f"invalid label value {value!r}")


def _split_requirements(selector: str) -> list[str]:
    """Commas between requirements, not those inside `in (a,b)`."""
    parts, depth, start = [], 0, 0
    for index, character in enumerate(selector):
        if character == "(":
            depth += 1
        elif character == ")":
            depth -= 1
        elif character == "," and depth == 0:
            parts.append(selector[start:index])
            start = index + 1
    parts.append(selector[start:])
    return parts


def _split_escaped(selector: str) -> list[str]:
    parts, current, escaped = [], [], False
    for character in selector:
        if escaped:
            current.append("\\" + character)
            escaped = False
        elif character == "\\":
            escaped = True
        elif character == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(character)
    parts.append("".join(current))
    return [part.strip() for part in parts]


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)
