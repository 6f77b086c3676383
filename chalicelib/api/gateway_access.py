"""Who may call the API on API Gateway: the token authorizer on every route but the open ones
(the webhook, which its HMAC signature guards), and CORS for the designer's origin only.

`guard_routes` is applied to the app in aws mode only (app.py), after every route is
registered, so a route added later is guarded without anyone remembering to: the packaged
template's swagger is generated from these route entries (tests/infra checks every route but
the webhook carries the authorizer). Locally it is never applied: `containerops serve` checks
its own token (chalicelib/server.py), and Chalice's local gateway would run an attached
authorizer too, refusing every request that carries no `Authorization` header, loopback
requests without a token included.

CORS. A browser sends its preflight (OPTIONS) without the token, so the preflight must reach no
authorizer. Chalice's own CORS answers it with a mock integration whose origin is fixed when
the template is packaged; the designer's origin is the stack's `DesignerOrigin` parameter,
known only at deploy. So every guarded path gets an OPTIONS route of its own, without the
authorizer, answered by the function from `CONTAINEROPS_DESIGNER_ORIGIN`: 204 with the
`Access-Control-*` headers for the designer's origin, 403 (no CORS headers, so the browser
stops there) for any other. The answers of the routes carry `Access-Control-Allow-Origin` only
when the request comes from the designer's origin; no origin at all is answered cross-origin
when the parameter is empty. Credentials (cookies) are never allowed: the token is a header.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, cast

from chalice.app import Authorizer, Chalice, ChaliceAuthorizer, Request, Response

from chalicelib.api.errors import error_response

PREFLIGHT_MAX_AGE = 600  # seconds a browser may reuse a preflight's answer
ALLOWED_HEADERS = ("Authorization", "Content-Type")  # what the designer sends (Accept is always allowed)


@dataclass(frozen=True)
class DesignerCors:
    origin: str | None  # https://host[:port]; None: no origin is answered cross-origin

    def allows(self, origin: str | None) -> bool:
        return self.origin is not None and origin == self.origin

    def response_headers(self, origin: str | None) -> dict[str, str]:
        if not self.allows(origin):
            return {}
        return {"Access-Control-Allow-Origin": origin or "", "Vary": "Origin"}

    def preflight(self, origin: str | None, methods: Collection[str]) -> Response:
        if not self.allows(origin):
            allowed = f"only from {self.origin}" if self.origin else "from no other origin"
            return error_response(403, "forbidden", f"this API answers browsers {allowed}")
        return Response(body="", status_code=204, headers={
            **self.response_headers(origin),
            "Access-Control-Allow-Methods": ", ".join([*methods, "OPTIONS"]),
            "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE),
        })


def guard_routes(app: Chalice, authorizer: ChaliceAuthorizer, *,
                 open_views: Collection[Callable[..., Any]], origin: Callable[[], str | None]) -> None:
    """Every route of `app` whose view is not in `open_views` needs `authorizer`; each path
    with such a route answers its preflight; the answers carry the CORS headers of the
    designer's origin (`origin()`, read when a request comes, not when the app is imported)."""
    for path, entries in list(app.routes.items()):
        guarded = [method for method, entry in entries.items() if entry.view_function not in open_views]
        for method in guarded:
            # Chalice types this as its Authorizer base, which the builtin ChaliceAuthorizer
            # does not derive from, though route(authorizer=...) takes either.
            entries[method].authorizer = cast(Authorizer, authorizer)
        if guarded and "OPTIONS" not in entries:
            app.route(path, methods=["OPTIONS"], name=f"preflight {path}")(
                _preflight_view(app, origin, guarded))

    def designer_cors(request: Request, get_response: Callable[[Request], Response]) -> Response:
        response = get_response(request)
        extra = DesignerCors(origin()).response_headers(_origin(request))
        if extra:  # a new dict: answers share their headers' dict (errors.JSON_HEADERS)
            response.headers = {**response.headers, **extra}
        return response

    app.register_middleware(designer_cors, "http")


def _preflight_view(app: Chalice, origin: Callable[[], str | None],
                    methods: list[str]) -> Callable[..., Response]:
    def preflight(**path_parameters: str) -> Response:
        return DesignerCors(origin()).preflight(_origin(app.current_request), methods)

    return preflight


def _origin(request: Request | None) -> str | None:
    if request is None:
        return None
    origin: str | None = request.headers.get("origin")
    return origin
