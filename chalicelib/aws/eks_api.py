"""The few Kubernetes API calls ContainerOps makes on an EKS cluster, through the official
`kubernetes` client, with plain JSON in and out, and the client's errors in three kinds.

The calls: create, read, list (by label), patch and delete a `batch/v1` Job in one
namespace; list pods (by label) and events (by field). Answers are read as JSON documents
(`_preload_content=False`): the status readers (`eks_status`) take the API's own shapes,
and the client's model classes would only turn them into objects and back. Each request has
its own time limit (`request_timeout`), and the client's connection pool does not retry
on its own: `eks.EksTasks` decides what to try again.

The cluster is reached at its endpoint, with its certificate authority (DescribeCluster's
`certificateAuthority.data`, kept in a file the client reads), authenticated by the role's
EKS token (`eks_token.TokenSource`), asked for again before every request (the source signs a
new one when the current one is old). The sandbox's harness is reached the same way at a
`http://127.0.0.1:port` endpoint, without a certificate authority.

Errors (`KubernetesError`): `refused` (the API answered 4xx: Forbidden, AlreadyExists,
NotFound, Invalid...) and `transient` (429 or 5xx, or no answer within the time limit or
no connection at all); the message keeps the API's own words (its Status `message`).
"""

from __future__ import annotations

import base64
import json
import tempfile
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

Document = dict[str, Any]
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
LIST_PAGE = 200
DEFAULT_REQUEST_TIMEOUT = 10.0  # seconds for one request: a Lambda has minutes, not hours


class KubernetesError(Exception):
    """The API refused a call (`status` 4xx) or could not be asked (`status` None, or 5xx)."""

    def __init__(self, status: int | None, reason: str, message: str) -> None:
        self.status = status
        self.reason = reason
        self.message = message
        super().__init__(self.in_words)

    @property
    def transient(self) -> bool:
        return self.status is None or self.status in TRANSIENT_STATUSES

    @property
    def in_words(self) -> str:
        if self.status is None:
            return f"the cluster's API could not be reached ({self.message})"
        return f"the cluster's API answered {self.status} {self.reason}: {self.message}"


class EksApi:
    def __init__(self, api_client: Any, *, request_timeout: float = DEFAULT_REQUEST_TIMEOUT) -> None:
        self._batch = k8s.BatchV1Api(api_client)
        self._core = k8s.CoreV1Api(api_client)
        self._timeout = request_timeout

    @classmethod
    def connect(cls, endpoint: str, token: Callable[[], str], *, certificate_authority: str = "",
                request_timeout: float = DEFAULT_REQUEST_TIMEOUT) -> EksApi:
        """`certificate_authority`: DescribeCluster's base64 PEM data (empty: plain HTTP, the
        sandbox's harness)."""
        configuration = k8s.Configuration()
        configuration.host = endpoint.rstrip("/")
        configuration.retries = 0  # ours decide (eks.EksTasks); the pool's would hide a stall
        configuration.api_key_prefix = {"authorization": "Bearer"}

        def fresh_token(config: Any) -> None:
            config.api_key = {"authorization": token()}

        configuration.refresh_api_key_hook = fresh_token
        fresh_token(configuration)  # the client sends the header only when a key is set already
        if certificate_authority:
            with tempfile.NamedTemporaryFile("wb", suffix=".crt", delete=False) as pem:
                pem.write(base64.b64decode(certificate_authority))
            configuration.ssl_ca_cert = pem.name
        return cls(k8s.ApiClient(configuration), request_timeout=request_timeout)

    # --- Jobs --------------------------------------------------------------------------
    def create_job(self, namespace: str, body: Mapping[str, Any]) -> Document:
        return self._call(self._batch.create_namespaced_job, namespace, dict(body))

    def get_job(self, namespace: str, name: str) -> Document | None:
        """The Job, or None when there is none of that name."""
        try:
            return self._call(self._batch.read_namespaced_job, name, namespace)
        except KubernetesError as exc:
            if exc.status == 404:
                return None
            raise

    def list_jobs(self, namespace: str, label_selector: str) -> Iterator[Document]:
        return self._pages(self._batch.list_namespaced_job, namespace, label_selector=label_selector)

    def patch_job(self, namespace: str, name: str, patch: Mapping[str, Any]) -> Document | None:
        """The patched Job (a merge of `patch`), or None when there is none of that name."""
        try:
            return self._call(self._batch.patch_namespaced_job, name, namespace, dict(patch))
        except KubernetesError as exc:
            if exc.status == 404:
                return None
            raise

    def delete_job(self, namespace: str, name: str) -> bool:
        """Delete the Job and (in the background) its pods; False when there was none."""
        try:
            self._call(self._batch.delete_namespaced_job, name, namespace,
                       propagation_policy="Background")
        except KubernetesError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    # --- pods and events ---------------------------------------------------------------
    def list_pods(self, namespace: str, label_selector: str) -> list[Document]:
        return list(self._pages(self._core.list_namespaced_pod, namespace, label_selector=label_selector))

    def list_events(self, namespace: str, field_selector: str) -> list[Document]:
        return list(self._pages(self._core.list_namespaced_event, namespace, field_selector=field_selector))

    # --- calling -----------------------------------------------------------------------
    def _pages(self, method: Callable[..., Any], namespace: str, **selectors: str) -> Iterator[Document]:
        token: str | None = None
        while True:
            paging = {"limit": LIST_PAGE, **({"_continue": token} if token else {})}
            page = self._call(method, namespace, **selectors, **paging)
            yield from page.get("items") or []
            token = (page.get("metadata") or {}).get("continue") or None
            if not token:
                return

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Document:
        try:
            # (connect, read): the client takes an int or a pair, and ignores a float.
            response = method(*args, **kwargs, _preload_content=False,
                              _request_timeout=(self._timeout, self._timeout))
        except ApiException as exc:
            raise refusal(exc) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise KubernetesError(None, exc.__class__.__name__, str(exc)) from exc
        data = response.data
        try:
            document = json.loads(data) if data else {}
        except ValueError as exc:
            raise KubernetesError(None, "BadAnswer", f"the answer is not JSON: {data[:80]!r}") from exc
        return document if isinstance(document, dict) else {}


def refusal(exc: ApiException) -> KubernetesError:
    """The API's Status (reason and message) of an error answer, in words."""
    reason, message = str(exc.reason or ""), ""
    try:
        status = json.loads(exc.body) if exc.body else {}
    except (ValueError, TypeError):
        status = {}
    if isinstance(status, dict):
        reason = str(status.get("reason") or reason)
        message = str(status.get("message") or "")
    return KubernetesError(int(exc.status) if exc.status else None, reason or "Error",
                           message or str(exc.body or "no message")[:500])
