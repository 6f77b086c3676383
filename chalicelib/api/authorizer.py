"""The API Gateway token authorizer of the API on AWS: `Authorization: Bearer <token>` checked
against the token hashes in Secrets Manager (chalicelib/services/token_check.py).

A token that checks out gets a policy allowing the whole API (one token grants everything:
there are no per-namespace rights), which API Gateway caches for that token for
`GATEWAY_CACHE_SECONDS`; with the authorizer's own cache of the hash list, a revoked token is
refused within two minutes. A missing, malformed, unknown, revoked or expired token makes the
authorizer fail with exactly the message `Unauthorized`: that is the only way a Lambda token
authorizer makes API Gateway answer 401 (its UNAUTHORIZED gateway response, which the template
words as the local server's 401). A Deny policy would be a 403, and any other failure (the
list cannot be read) is API Gateway's AUTHORIZER_FAILURE: no access either way. The route's
function is never invoked for a refused request, so nothing is started.

The authorizer is built from the environment once per Lambda container, at its first request.
"""

from __future__ import annotations

import logging

from chalice.app import AuthRequest, AuthResponse

from chalicelib.config import api_tokens_secret
from chalicelib.domain.api_tokens import Refusal
from chalicelib.errors import Unauthorized
from chalicelib.services.token_check import TokenChecker

log = logging.getLogger("containerops.api")

GATEWAY_CACHE_SECONDS = 60
GATEWAY_REFUSAL = "Unauthorized"  # the message API Gateway turns into its 401


class TokenRefused(Unauthorized):
    def __init__(self, reason: Refusal) -> None:
        self.reason = reason
        super().__init__(GATEWAY_REFUSAL)


class TokenAuthorizer:
    def __init__(self, checker: TokenChecker) -> None:
        self._checker = checker

    def __call__(self, request: AuthRequest) -> AuthResponse:
        verdict = self._checker.check(request.token)
        if isinstance(verdict, Refusal):
            log.info("refused a request to %s: %s", request.method_arn, verdict.value)
            raise TokenRefused(verdict)
        # The policy is cached per token and reused for the token's next requests to any route:
        # it must allow them all, not only the route asked about now.
        return AuthResponse(routes=["*"], principal_id=verdict.id, context={"token_name": verdict.name})


_authorizer: TokenAuthorizer | None = None


def token_authorizer() -> TokenAuthorizer:
    global _authorizer
    if _authorizer is None:
        from chalicelib.aws.api_tokens import token_checker

        _authorizer = TokenAuthorizer(token_checker(api_tokens_secret()))
    return _authorizer


def use_token_checker(checker: TokenChecker | None) -> None:
    """Authorize with this checker (a test's); None: build it from the environment again."""
    global _authorizer
    _authorizer = None if checker is None else TokenAuthorizer(checker)
