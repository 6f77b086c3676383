"""The bearer-token check of the sandbox's Kubernetes harness: is an `Authorization` header an EKS
token, as EKS's authenticator reads one, at a given time (pure).

An EKS token (`aws eks get-token`, aws-iam-authenticator) is `k8s-aws-v1.` and the base64url
(without padding) of a presigned URL of STS `GetCallerIdentity` whose signature covers the
header `x-k8s-aws-id` (the cluster's name). EKS checks the URL's form and then sends it to
STS, whose answer (the caller's ARN) an access entry maps to Kubernetes groups. STS cannot
be asked here, so what is checked is what the authenticator checks before it asks: the
prefix, at most 4 KiB, an `https://` URL to an STS host with path `/`, only the query
parameters a presigned GetCallerIdentity has (each once), `Action=GetCallerIdentity`,
`Version=2011-06-15`, `X-Amz-Algorithm=AWS4-HMAC-SHA256`, a credential scope of the same
day for `sts`, `X-Amz-Expires` between 0 and 900, a signature of 64 hex digits,
`x-k8s-aws-id` among the signed headers, and an `X-Amz-Date` at most 15 minutes old (the
token's life whatever `X-Amz-Expires` says) and not more than 5 minutes ahead (STS's clock
skew). Not checked: the signature itself, the credentials, and the cluster name (the
signed header's value is not in the URL).
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

TOKEN_PREFIX = "k8s-aws-v1."
MAX_TOKEN_BYTES = 4096
TOKEN_LIFETIME_SECONDS = 15 * 60
CLOCK_SKEW_SECONDS = 5 * 60
MAX_EXPIRES_SECONDS = 900
CLUSTER_HEADER = "x-k8s-aws-id"
ALLOWED_PARAMETERS = frozenset({"action", "version", "x-amz-algorithm", "x-amz-credential", "x-amz-date",
                                "x-amz-expires", "x-amz-security-token", "x-amz-signature",
                                "x-amz-signedheaders"})
REQUIRED_PARAMETERS = tuple(sorted(ALLOWED_PARAMETERS - {"x-amz-security-token"}))
_STS_HOST = re.compile(r"sts(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_DATE_FORMAT = "%Y%m%dT%H%M%SZ"


def token_problem(authorization: str | None, now: float) -> str | None:
    """Why `authorization` (the header's value) is not an EKS bearer token good at `now` (Unix
    seconds); None when it is."""
    if not authorization:
        return "no Authorization header"
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return "the Authorization header is not a bearer token"
    token = token.strip()
    if len(token) > MAX_TOKEN_BYTES:
        return "the token is too large"
    if not token.startswith(TOKEN_PREFIX):
        return f"the token is missing the {TOKEN_PREFIX!r} prefix"
    encoded = token[len(TOKEN_PREFIX):]
    if "=" in encoded:
        return "the token's base64 has padding (base64url without padding is expected)"
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return "the token is not base64url of a URL"
    return _url_problem(url, now)


def _url_problem(url: str, now: float) -> str | None:
    parts = urlsplit(url)
    if parts.scheme != "https":
        return f"unexpected scheme {parts.scheme!r} in the presigned URL"
    if not _STS_HOST.fullmatch(parts.hostname or ""):
        return f"unexpected host {parts.hostname!r} in the presigned URL"
    if parts.path != "/":
        return "unexpected path in the presigned URL"
    query = parse_qs(parts.query, keep_blank_values=True)
    values: dict[str, str] = {}
    for key, given in query.items():
        if key.lower() not in ALLOWED_PARAMETERS:
            return f"query parameter {key!r} is not one of a presigned GetCallerIdentity"
        if len(given) != 1:
            return f"query parameter {key!r} is given more than once"
        values[key.lower()] = given[0]
    missing = [key for key in REQUIRED_PARAMETERS if not values.get(key)]
    if missing:
        return f"the presigned URL lacks {', '.join(missing)}"
    return _signature_problem(values, now)


def _signature_problem(values: dict[str, str], now: float) -> str | None:
    if values["action"] != "GetCallerIdentity":
        return f"the presigned URL's action is {values['action']!r}, not GetCallerIdentity"
    if values["version"] != "2011-06-15":
        return f"the presigned URL's version is {values['version']!r}, not 2011-06-15"
    if values["x-amz-algorithm"] != "AWS4-HMAC-SHA256":
        return f"unexpected X-Amz-Algorithm {values['x-amz-algorithm']!r}"
    if CLUSTER_HEADER not in [header.lower() for header in values["x-amz-signedheaders"].split(";")]:
        return f"the client did not sign the {CLUSTER_HEADER} header"
    if not _SIGNATURE.fullmatch(values["x-amz-signature"]):
        return "X-Amz-Signature is not 64 hexadecimal digits"
    expires = values["x-amz-expires"]
    if not expires.isdigit() or int(expires) > MAX_EXPIRES_SECONDS:
        return f"invalid X-Amz-Expires {expires!r} (0 to {MAX_EXPIRES_SECONDS} seconds)"
    try:
        signed = datetime.strptime(values["x-amz-date"], _DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return f"X-Amz-Date {values['x-amz-date']!r} is not like 20260102T030405Z"
    scope = values["x-amz-credential"].split("/")
    if len(scope) != 5 or scope[2] == "" or scope[3:] != ["sts", "aws4_request"]:
        return "X-Amz-Credential is not key/date/region/sts/aws4_request"
    if scope[1] != signed.strftime("%Y%m%d"):
        return "the credential scope's date is not X-Amz-Date's"
    age = now - signed.timestamp()
    if age > TOKEN_LIFETIME_SECONDS:
        return f"the token expired: signed {age:.0f} s ago (a token lasts {TOKEN_LIFETIME_SECONDS} s)"
    if age < -CLOCK_SKEW_SECONDS:
        return f"the token is signed {-age:.0f} s in the future"
    return None
