"""Reading requests safely: bodies (size, JSON, shape), path ids, query values."""

from __future__ import annotations

import json
import re
from typing import Any

from chalicelib.errors import InvalidRequest, PayloadTooLarge

MAX_BODY_BYTES = 1024 * 1024
_SLUG = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_RUN_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{8}$")
_JOB = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_VERSION = re.compile(r"^\d+(\.\d+){0,2}([-+][0-9A-Za-z.-]+)?$")


def body_bytes(raw: bytes | None) -> bytes:
    data = raw or b""
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is {len(data)} bytes; at most {MAX_BODY_BYTES} are accepted")
    return data


def json_object(raw: bytes | None) -> dict[str, Any]:
    """The body as a JSON object; anything else is an invalid request."""
    data = body_bytes(raw)
    try:
        value = json.loads(data.decode("utf-8")) if data else None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRequest(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidRequest("the body must be a JSON object")
    return value


def _checked(value: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.fullmatch(value or ""):
        raise InvalidRequest(f"'{_printable(value)}' is not a valid {what}")
    return value


def _printable(value: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in (value or ""))[:100]


def namespace_id(value: str) -> str:
    return _checked(value, _SLUG, "namespace (lower-case letters, digits, '-')")


def name_id(value: str) -> str:
    return _checked(value, _SLUG, "name (lower-case letters, digits, '-')")


def run_id(value: str) -> str:
    return _checked(value, _RUN_ID, "run id")


def job_id(value: str) -> str:
    return _checked(value, _JOB, "job name")


def version_id(value: str) -> str:
    return _checked(value, _VERSION, "component version")


def int_param(params: dict[str, str] | None, key: str, default: int, low: int, high: int) -> int:
    raw = (params or {}).get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidRequest(f"query parameter '{key}' must be a whole number") from exc
    if not low <= value <= high:
        raise InvalidRequest(f"query parameter '{key}' must be between {low} and {high}")
    return value
