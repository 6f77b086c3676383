"""The bearer token an EKS cluster's API server accepts from an IAM role, made as `aws eks
get-token` makes it: `k8s-aws-v1.` and the URL-safe base64 (no padding) of a presigned STS
`GetCallerIdentity` URL whose signature covers the header `x-k8s-aws-id: <cluster name>`.

EKS sends that URL to STS itself, so the token proves the caller's role without giving the
cluster any credential; the access entry of the role decides what it may do (infra/eks). A
token is good for 15 minutes from its signing; `TokenSource` hands the same one out for
REFRESH_AFTER seconds and then signs a new one, so a Lambda container that lives for hours
never sends an expired token, and one that handles a burst signs once. Signing is local
(no request to STS), so the token costs nothing but the credentials the role already has.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sts import STSClient

TOKEN_PREFIX = "k8s-aws-v1."
CLUSTER_HEADER = "x-k8s-aws-id"
PRESIGN_SECONDS = 60  # what aws eks get-token asks for; EKS honours 15 minutes from the date
REFRESH_AFTER = 600.0  # seconds: well within the 15 minutes EKS accepts a token for


def eks_token(sts: STSClient, cluster: str) -> str:
    """A fresh token for `cluster`, signed with `sts`'s credentials (its region's endpoint)."""

    def name_the_cluster(request: Any, **_: Any) -> None:
        request.headers[CLUSTER_HEADER] = cluster

    event = "before-sign.sts.GetCallerIdentity"
    sts.meta.events.register(event, name_the_cluster)
    try:
        url = sts.generate_presigned_url("get_caller_identity", Params={},
                                         ExpiresIn=PRESIGN_SECONDS, HttpMethod="GET")
    finally:
        sts.meta.events.unregister(event, name_the_cluster)
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


class TokenSource:
    """The current token of a cluster, signed again when it gets old; thread-safe."""

    def __init__(self, sign: Callable[[], str], clock: Callable[[], float] = time.monotonic) -> None:
        self._sign = sign
        self._clock = clock
        self._lock = threading.Lock()
        self._token = ""
        self._signed_at = 0.0

    @classmethod
    def for_cluster(cls, sts: STSClient, cluster: str) -> TokenSource:
        return cls(lambda: eks_token(sts, cluster))

    def token(self) -> str:
        with self._lock:
            now = self._clock()
            if not self._token or now - self._signed_at >= REFRESH_AFTER:
                self._token, self._signed_at = self._sign(), now
            return self._token
