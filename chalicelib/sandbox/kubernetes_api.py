"""The sandbox's Kubernetes API server: the calls ContainerOps' EKS adapter makes through the
official `kubernetes` client, answered on 127.0.0.1 (plain HTTP, an ephemeral port) with the
real API's shapes, and a node whose kubelet runs each Job's pod on Docker (`kubelet.py`).

Served (everything else is a 404 `Status` naming the request the harness does not serve, so a
call nobody planned for shows up at once):

    POST   /apis/batch/v1/namespaces/{ns}/jobs           201 the Job as stored; 409, 422, 404
    GET    /apis/batch/v1/namespaces/{ns}/jobs[/{name}]  labelSelector, fieldSelector, limit,
                                                         continue
    PATCH  /apis/batch/v1/namespaces/{ns}/jobs/{name}    merge and strategic-merge patches
    DELETE /apis/batch/v1/namespaces/{ns}/jobs/{name}    propagationPolicy (query or body)
    GET    /api/v1/namespaces/{ns}/pods[/{name}]
    GET    /api/v1/namespaces/{ns}/events                 fieldSelector (involvedObject.*...)

The objects and what each call does to them: `kubernetes_store.py`; their shapes and errors:
`kubernetes_objects.py`. Every request needs an EKS bearer token (`eks_auth.token_problem`,
checked by `token_clock`), else 401 Unauthorized. The kubernetes client (35.0.0) sends a
dict patch as `application/strategic-merge-patch+json`; that and
`application/merge-patch+json` are applied as a merge patch; a JSON patch or an apply is a
415 saying the harness does not apply those.

Faults for tests (`faults`): `refuse` answers the given error instead of doing the request
(nothing happens); `stall` does the request (it takes effect, as on a slow API server: a
stalled create has created the Job, so the client's retry gets 409) and answers only after
`seconds`, so the client's `_request_timeout` fires first. Both match a method (or "*")
and a regular expression searched in the path, for `times` requests (None: all).

Python API for the sandbox and tests: `create_namespace`, `put_secret` (a core/v1 Secret
the kubelet reads for `secretKeyRef`), `jobs`/`pods`/`events` snapshots, `requests` (each
request asked and its answer's code), `url`, `close` (stops every pod's containers, the
controller and the server, and joins their threads).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from chalicelib.sandbox.eks_auth import token_problem
from chalicelib.sandbox.kubelet import Kubelet, KubeletSetup
from chalicelib.sandbox.kubernetes_objects import (
    EVENTS,
    JOBS,
    PODS,
    ApiError,
    Document,
    Resource,
    bad_request,
)
from chalicelib.sandbox.kubernetes_store import Cluster

log = logging.getLogger("containerops.sandbox")

DEFAULT_NAMESPACES = ("containerops",)
MERGE_PATCHES = ("application/merge-patch+json", "application/strategic-merge-patch+json")
MAX_BODY_BYTES = 3 * 1024 * 1024  # the API server's request limit
Answer = tuple[int, Document, dict[str, str]]
_NAMESPACED = r"/namespaces/(?P<ns>[^/]+)/"


@dataclass(frozen=True)
class ApiRequest:
    """One request the harness was asked, and the code it answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    code: int
    problem: str = ""  # why a token was refused


@dataclass
class _Fault:
    method: str
    path: re.Pattern[str]
    remaining: int | None
    error: ApiError | None = None
    seconds: float = 0.0


@dataclass
class Faults:
    """What the next matching requests get instead of the harness's own answer."""

    _faults: list[_Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def refuse(self, method: str, path: str, status: int, reason: str, message: str = "", *,
               times: int | None = 1, retry_after: int | None = None) -> None:
        """Answer `status` (a Status of `reason`, `message`) without doing the request."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        details = {"retryAfterSeconds": retry_after} if retry_after is not None else None
        error = ApiError(status, reason, message or reason, details, headers)
        self._add(_Fault(method.upper(), re.compile(path), times, error=error))

    def stall(self, method: str, path: str, seconds: float, *, times: int | None = 1) -> None:
        """Do the request, and answer only after `seconds`."""
        self._add(_Fault(method.upper(), re.compile(path), times, seconds=seconds))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def _add(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method in ("*", method) and fault.path.search(path):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    return fault
        return None


class KubernetesApi:
    """The harness: open on construction, `close()` (or leave the `with` block) to end it."""

    def __init__(self, node: KubeletSetup | None = None, *, namespaces: Iterable[str] = DEFAULT_NAMESPACES,
                 token_clock: Callable[[], float] = time.time) -> None:
        """`node`: how pods run (without one, Jobs are kept and get no pod; the objects' times
        are then the time of day); `namespaces`: those that exist; `token_clock`: the time
        tokens are checked at."""
        self.cluster = Cluster(node.clock if node is not None else time.time)
        for namespace in namespaces:
            self.cluster.create_namespace(namespace)
        self.faults = Faults()
        self._token_clock = token_clock
        self._requests: list[ApiRequest] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = _Server(self)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.kubelet = Kubelet(node, self.cluster) if node is not None else None
        if self.kubelet is not None:
            self.kubelet.start()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="harness-kubernetes-api", daemon=True)
        self._thread.start()

    def __enter__(self) -> KubernetesApi:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._closing.is_set():
            return
        self._closing.set()  # stalled answers go out now
        if self.kubelet is not None:
            self.kubelet.close()
        self._server.shutdown()
        self._server.server_close()  # joins the request threads
        self._thread.join(timeout=10)

    # --- the Python API ---------------------------------------------------------------
    def create_namespace(self, name: str) -> None:
        self.cluster.create_namespace(name)

    def put_secret(self, namespace: str, name: str, data: Mapping[str, str]) -> None:
        self.cluster.put_secret(namespace, name, data)

    def jobs(self, namespace: str = DEFAULT_NAMESPACES[0]) -> list[Document]:
        return self.cluster.items(JOBS, namespace)

    def pods(self, namespace: str = DEFAULT_NAMESPACES[0]) -> list[Document]:
        return self.cluster.items(PODS, namespace)

    def events(self, namespace: str = DEFAULT_NAMESPACES[0]) -> list[Document]:
        return self.cluster.items(EVENTS, namespace)

    def requests(self) -> list[ApiRequest]:
        with self._lock:
            return list(self._requests)

    # --- one request (from the server's threads) ----------------------------------------
    def answer(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """(code, document, headers) for a request; `headers` keyed in lower case."""
        parts = urlsplit(target)
        path, query = unquote(parts.path), parse_qs(parts.query, keep_blank_values=True)
        problem = token_problem(headers.get("authorization"), self._token_clock())
        fault = None if problem else self.faults.take(method, path)
        try:
            if problem is not None:
                raise ApiError(401, "Unauthorized", "Unauthorized")
            if fault is not None and fault.error is not None:
                raise fault.error
            code, document, extra = self._route(method, path, query, headers, body)
        except ApiError as exc:
            code, document, extra = exc.code, exc.status(), exc.headers
        with self._lock:
            self._requests.append(ApiRequest(method, path, query, code, problem or ""))
        if fault is not None and fault.seconds:
            self._closing.wait(fault.seconds)
        return code, document, extra

    def _route(self, method: str, path: str, query: Mapping[str, list[str]], headers: Mapping[str, str],
               body: bytes) -> Answer:
        for pattern, resource in _ROUTES:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            namespace, name = match["ns"], match.groupdict().get("name")
            if "watch" in query and query["watch"][0] not in ("", "0", "false"):
                break
            if method == "GET":
                return self._read(resource, namespace, name, query)
            if resource is JOBS and method == "POST" and name is None:
                return 201, self.cluster.create_job(namespace, _json(body)), {}
            if resource is JOBS and method == "PATCH" and name:
                return 200, self.cluster.patch_job(namespace, name, _patch(headers, body)), {}
            if resource is JOBS and method == "DELETE" and name:
                options = _json(body) if body.strip() else {}
                for key in ("propagationPolicy", "orphanDependents", "gracePeriodSeconds"):
                    if key in query:
                        options[key] = _query_value(key, query[key][0])
                document, extra = self.cluster.delete_job(namespace, name, options)
                return 200, document, extra
            break
        raise ApiError(404, "NotFound", "the server could not find the requested resource (the Kubernetes"
                                        f" harness does not serve {method} {path})", {})

    def _read(self, resource: Resource, namespace: str, name: str | None,
              query: Mapping[str, list[str]]) -> Answer:
        if name:
            return 200, self.cluster.get(resource, namespace, name), {}

        def one(key: str) -> str:
            return query.get(key, [""])[0]

        limit = one("limit")
        if limit and not limit.isdigit():
            raise bad_request(f"limit: Invalid value: {limit!r}")
        return 200, self.cluster.list(resource, namespace, labels=one("labelSelector"),
                                      fields=one("fieldSelector"), limit=int(limit or 0),
                                      token=one("continue")), {}


_ROUTES: list[tuple[re.Pattern[str], Resource]] = [
    (re.compile("/apis/batch/v1" + _NAMESPACED + r"jobs"), JOBS),
    (re.compile("/apis/batch/v1" + _NAMESPACED + r"jobs/(?P<name>[^/]+)"), JOBS),
    (re.compile("/api/v1" + _NAMESPACED + r"pods"), PODS),
    (re.compile("/api/v1" + _NAMESPACED + r"pods/(?P<name>[^/]+)"), PODS),
    (re.compile("/api/v1" + _NAMESPACED + r"events"), EVENTS),
]


def _json(body: bytes) -> Any:
    try:
        return json.loads(body or b"{}")
    except ValueError as exc:
        raise bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc


def _patch(headers: Mapping[str, str], body: bytes) -> Any:
    kind = (headers.get("content-type") or "").split(";")[0].strip().lower()
    if kind not in MERGE_PATCHES:
        raise ApiError(415, "UnsupportedMediaType",
                       f"the body of the request was in an unknown format - the Kubernetes harness applies"
                       f" {' and '.join(MERGE_PATCHES)} only, not {kind or 'no Content-Type'}")
    return _json(body)


def _query_value(key: str, value: str) -> Any:
    if key == "orphanDependents":
        return value.lower() == "true"
    if key == "gracePeriodSeconds":
        return int(value) if value.lstrip("-").isdigit() else None
    return value


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so server_close joins them
    block_on_close = True

    def __init__(self, api: KubernetesApi) -> None:
        self.api = api
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers at close()

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            if length > MAX_BODY_BYTES:
                raise ApiError(413, "RequestEntityTooLarge", "Request entity too large")
            body = self.rfile.read(length) if length else b""
            headers = {key.lower(): value for key, value in self.headers.items()}
            code, document, extra = self.server.api.answer(method, self.path, headers, body)
        except ApiError as exc:
            code, document, extra = exc.code, exc.status(), {}
        except Exception as exc:  # a bug of the harness: an InternalError, as the API server answers
            log.exception("the Kubernetes harness failed %s %s", method, self.path)
            code, document, extra = 500, ApiError(500, "InternalError", f"harness error: {exc}").status(), {}
        payload = json.dumps(document).encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the client gave up waiting (a stall): nobody reads this answer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("kubernetes harness: " + format, *args)
