"""One JSON shape for every error answer, and the one place errors become HTTP statuses.

    {"error": {"code": "validation_failed", "message": "...",
               "details": [{"path": "spec.stages[0].name", "message": "..."}]}}

Routes wrap their work in `answer(...)`: the project's errors map one-to-one onto statuses;
anything else is logged and answered 500 without a stack trace.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from chalice.app import Response

from chalicelib.errors import (
    Conflict,
    ContainerOpsError,
    EngineUnavailable,
    InvalidDefinition,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    Problem,
    ServiceUnavailable,
    StoreUnavailable,
    Unauthorized,
)

log = logging.getLogger("containerops.api")

JSON_HEADERS: dict[str, str | list[str]] = {"Content-Type": "application/json"}

_STATUS: list[tuple[type[ContainerOpsError], int, str]] = [
    (InvalidDefinition, 400, "validation_failed"),
    (PayloadTooLarge, 413, "payload_too_large"),
    (InvalidRequest, 400, "invalid_request"),
    (Unauthorized, 401, "unauthorized"),
    (NotFound, 404, "not_found"),
    (Conflict, 409, "conflict"),
    (EngineUnavailable, 503, "engine_unavailable"),
    (StoreUnavailable, 503, "store_unavailable"),
    (ServiceUnavailable, 503, "service_unavailable"),
]


def error_response(status: int, code: str, message: str,
                   problems: list[Problem] | None = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if problems:
        body["details"] = [{"path": p.path, "message": p.message} for p in problems]
    return Response(body=json.dumps({"error": body}), status_code=status, headers=JSON_HEADERS)


def response_for(error: ContainerOpsError) -> Response:
    for kind, status, code in _STATUS:
        if isinstance(error, kind):
            problems = getattr(error, "problems", None)
            message = str(error)
            if isinstance(error, InvalidDefinition):
                message = f"{len(error.problems)} problem(s) in the definition"
            return error_response(status, code, message, problems)
    log.warning("unexpected project error: %s", error)
    return error_response(500, "internal", "internal error")


def answer(work: Callable[[], Any], status: int = 200) -> Response:
    """Run a route's work; its result becomes a JSON body, its errors an error answer."""
    try:
        result = work()
    except ContainerOpsError as error:
        return response_for(error)
    except Exception:  # never a stack trace in an answer
        log.exception("internal error")
        return error_response(500, "internal", "internal error")
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(body="", status_code=204)
    return Response(body=json.dumps(result), status_code=status, headers=JSON_HEADERS)
