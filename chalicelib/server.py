"""`containerops serve`: the API and the designer on one port, and the local run machinery.

One `ThreadingHTTPServer`, a thread per connection. Requests under `/api/` go through
Chalice's local gateway into the very app Lambda runs (`app.py`); every other GET is a file
of the designer's build (`frontend/dist`), or a placeholder page when there is none. The
threads take turns at that work in arrival order (`FairAdmission`): under load, no
request waits behind luck. The same process executes the
runs the API queues (`LocalDispatcher`) and starts the runs schedules owe (`ScheduleLoop`).

Safety: it binds 127.0.0.1 unless told otherwise, and any other address needs a token that
every API call must then carry (`Authorization: Bearer ...`); webhook calls carry their
HMAC signature instead. On loopback without a token, API calls must name a loopback host
(no DNS rebinding), and a browser may change nothing from another origin (no CSRF): the
API runs containers. Bodies over 1 MiB are refused from their Content-Length, unread.
Stopping (SIGINT/SIGTERM) leaves running containers running: the next start re-attaches.

`serve_on_aws` is the same server with the API in aws mode (`containerops serve --backend
aws-sandbox`): the designer against the serverless path, played on this machine.
"""

from __future__ import annotations

import base64
import hmac
import importlib.util
import ipaddress
import logging
import mimetypes
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote, urlsplit

from chalice.config import Config
from chalice.local import ForbiddenError, LocalGateway, LocalGatewayException

from chalicelib.admission import FairAdmission, SteppingOutDispatcher
from chalicelib.api.context import ApiContext, configure
from chalicelib.api.errors import error_response
from chalicelib.api.openapi import allowed_methods
from chalicelib.api.requests import MAX_BODY_BYTES
from chalicelib.bootstrap import Services
from chalicelib.domain.host_mounts import NO_HOST_MOUNTS, MountPolicy
from chalicelib.errors import ContainerOpsError
from chalicelib.local.dispatcher import LocalDispatcher
from chalicelib.local.schedules import ScheduleLoop
from chalicelib.services.run_service import RunService

if TYPE_CHECKING:
    from chalicelib.aws.bootstrap import AwsServices

log = logging.getLogger("containerops.server")

PROJECT_TOP = Path(__file__).resolve().parents[1]
STATIC_DIR = PROJECT_TOP / "frontend" / "dist"
LOOPBACK_NAMES = ("localhost",)
_WEBHOOK = re.compile(r"^/api/namespaces/[^/]+/workflows/[^/]+/webhook/?$")
_DRAIN_LIMIT = 4 * MAX_BODY_BYTES  # read and drop this much of a refused body, not more
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
PLACEHOLDER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ContainerOps</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>ContainerOps</h1>
<p>The API is running. The designer is not built here (no <code>frontend/dist</code>).</p>
<ul>
<li><a href="/api/health">/api/health</a>: is the service up</li>
<li><a href="/api/openapi.json">/api/openapi.json</a>: every route, as OpenAPI 3</li>
</ul>
<p>The API section of <code>README.md</code> shows how to call it.</p>
</body></html>
"""


class ServeRefused(ContainerOpsError):
    """The server cannot start as asked (an unsafe binding, a port in use...)."""


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_binding(host: str, token: str | None) -> None:
    if not is_loopback(host) and not token:
        raise ServeRefused(
            f"binding {host} exposes the API beyond this machine: give a token with --token "
            "or CONTAINEROPS_API_TOKEN (or bind 127.0.0.1)"
        )


def load_chalice_app() -> Any:
    """The app of `app.py` beside chalicelib (the file `chalice deploy` packages)."""
    existing = sys.modules.get("app")
    path = PROJECT_TOP / "app.py"
    if existing is not None and Path(getattr(existing, "__file__", "")).resolve() == path:
        return existing.app
    spec = importlib.util.spec_from_file_location("app", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise ServeRefused(f"the Chalice app {path} is missing: serve runs from a source checkout")
    module = importlib.util.module_from_spec(spec)
    sys.modules["app"] = module
    spec.loader.exec_module(module)
    return module.app


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str | list[str]]
    body: bytes


def json_error(status: int, code: str, message: str) -> Answer:
    response = error_response(status, code, message).to_dict()
    return Answer(status, dict(response["headers"]), str(response["body"]).encode())


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True  # a long-polling client must not hold up the stop
    request_queue_size = 128  # the default 5 drops connections of a burst of clients

    def __init__(self, address: tuple[str, int], gateway: LocalGateway, token: str | None,
                 static_dir: Path, admission: FairAdmission) -> None:
        self.gateway = gateway
        self.admission = admission
        self.token = token
        self.static_dir = static_dir
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, RequestHandler)


API_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
_GATEWAY_CODES = {405: "method_not_allowed", 415: "unsupported_media_type", 401: "unauthorized"}


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes: without this, Nagle's algorithm and the
    # client's delayed ACK add 40 ms to every answer on a kept-alive connection.
    disable_nagle_algorithm = True
    timeout = 60  # seconds a silent client may hold a thread

    def handle_expect_100(self) -> bool:
        """Invite the body only when it will be read: a refused one is never sent."""
        length = self.headers.get("Content-Length") or "0"
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            return True  # the 413 goes out instead of "100 Continue"
        return super().handle_expect_100()

    def version_string(self) -> str:
        return "containerops"

    @property
    def api(self) -> ApiServer:
        return cast(ApiServer, self.server)

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, QUERY, ...) gets an answer of ours (405), not the
        # standard library's HTML 501.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    # --- routing ----------------------------------------------------------------------
    def _handle(self) -> None:
        self._refused_length = 0
        path = urlsplit(self.path).path
        if path == "/api" or path.startswith("/api/"):
            answer = self._api(path)
        elif self.command in ("GET", "HEAD"):
            with self.api.admission:
                answer = static_answer(self.api.static_dir, path)
        else:
            answer = Answer(405, {"Allow": "GET, HEAD", "Content-Type": "text/plain"}, b"")
        self._send(answer)

    def _api(self, path: str) -> Answer:
        if self.command not in API_METHODS:
            return self._not_allowed(path)
        length, refused = self._content_length()
        if refused is not None:
            return refused
        # Read even a body about to be refused (at most 1 MiB): the connection stays usable.
        body = self.rfile.read(length) if length else None
        refused = self._refusal(path)
        if refused is not None:
            return refused
        try:
            with self.api.admission:  # the body is in: from here on, only the app's own work
                response = self.api.gateway.handle_request(
                    method=self.command, path=self.path, headers=dict(self.headers.items()), body=body,
                )
        except ForbiddenError:  # how API Gateway says "no such route"
            return json_error(404, "not_found", f"no API route {self.command} {path}")
        except LocalGatewayException as exc:  # e.g. 405 for a method the route lacks
            if exc.CODE == 405:
                return self._not_allowed(path)
            return json_error(exc.CODE, _GATEWAY_CODES.get(exc.CODE, "invalid_request"),
                              f"{self.command} {path}: {HTTPStatus(exc.CODE).phrase.lower()}")
        except Exception:  # the app answers its own errors; this is the gateway failing
            log.exception("the gateway failed on %s %s", self.command, path)
            return json_error(500, "internal", "internal error")
        headers: dict[str, str | list[str]] = {**response["headers"], **response["multiValueHeaders"]}
        raw = response.get("body")
        if raw is None:
            content = b""
        elif response.get("isBase64Encoded"):
            content = base64.b64decode(raw)
        else:
            content = raw if isinstance(raw, bytes) else str(raw).encode()
        headers.setdefault("Content-Type", "application/json")
        return Answer(int(response["statusCode"]), headers, content)

    def _not_allowed(self, path: str) -> Answer:
        answer = json_error(405, "method_not_allowed", f"{path} does not answer {self.command}")
        answer.headers["Allow"] = ", ".join(allowed_methods(path)) or "GET"
        return answer

    # --- guards -----------------------------------------------------------------------
    def _refusal(self, path: str) -> Answer | None:
        token = self.api.token
        if token is None:
            host_name = _host_name(self.headers.get("Host") or "")
            if host_name and not is_loopback(host_name):  # browsers always name the host
                return json_error(403, "forbidden", "without a token, the API answers only to a "
                                  "loopback host name (127.0.0.1, localhost, [::1])")
        elif not (self.command == "POST" and _WEBHOOK.match(path)):
            given = self.headers.get("Authorization") or ""
            scheme, _, value = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                value.strip().encode(), token.encode()
            ):
                return json_error(401, "unauthorized", "a valid 'Authorization: Bearer <token>' is required")
        origin = self.headers.get("Origin")
        host = self.headers.get("Host") or ""
        if self.command not in _SAFE_METHODS and origin and not _same_origin(origin, host):
            return json_error(403, "forbidden", f"requests from {origin} may not change anything here")
        return None

    def _content_length(self) -> tuple[int, Answer | None]:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return 0, json_error(411, "length_required", "send the body with a Content-Length")
        raw = self.headers.get("Content-Length") or "0"
        try:
            length = int(raw)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            return 0, json_error(400, "invalid_request", f"Content-Length '{raw[:20]}' is not a size")
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._refused_length = length
            return 0, json_error(413, "payload_too_large",
                                 f"the body is {length} bytes; at most {MAX_BODY_BYTES} are accepted")
        return length, None

    def _drain(self, length: int) -> None:
        """Read a refused body that is on its way (up to a bound), so the client reads our
        413 instead of a connection reset; one that does not come is not waited for."""
        if length > _DRAIN_LIMIT:
            return
        self.connection.settimeout(2)
        try:
            while length > 0 and (chunk := self.rfile.read1(min(length, 65536))):
                length -= len(chunk)
        except OSError:
            pass  # the client gave up or stalled: closing is all that is left

    # --- answering --------------------------------------------------------------------
    def _send(self, answer: Answer) -> None:
        self.send_response(answer.status)
        headers = {"X-Content-Type-Options": "nosniff", **answer.headers,
                   "Content-Length": str(len(answer.body))}
        for name, value in headers.items():
            for item in value if isinstance(value, list) else [value]:
                self.send_header(name, item)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)
        self.wfile.flush()
        if self._refused_length:
            self._drain(self._refused_length)


def _host_name(host_header: str) -> str:
    """'127.0.0.1:8080' -> '127.0.0.1', '[::1]:8080' -> '::1', 'localhost' -> 'localhost'."""
    if host_header.startswith("["):
        return host_header[1:].partition("]")[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def _same_origin(origin: str, host_header: str) -> bool:
    return origin in (f"http://{host_header}", f"https://{host_header}")


# The designer reads config.json beside its page to find the API: here it is beside the
# designer (on AWS the deploy writes one naming API Gateway's URL).
SITE_CONFIG = b'{"api": "api"}\n'


def static_answer(root: Path, path: str) -> Answer:
    if path == "/config.json":
        return Answer(200, {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-cache"},
                      SITE_CONFIG)
    if not root.is_dir():
        if path in ("/", "/index.html"):
            return Answer(200, {"Content-Type": "text/html; charset=utf-8"}, PLACEHOLDER_PAGE.encode())
        return _not_found()
    relative = unquote(path).lstrip("/") or "index.html"
    parts = relative.split("/")
    if any(part in ("", ".", "..") or "\\" in part or "\0" in part for part in parts):
        return _not_found()
    base = root.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base) or not target.is_file():
        return _not_found()
    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
        kind += "; charset=utf-8"
    return Answer(200, {"Content-Type": kind, "Cache-Control": "no-cache"}, target.read_bytes())


def _not_found() -> Answer:
    return Answer(404, {"Content-Type": "text/plain; charset=utf-8"}, b"not found\n")


# --- the process ----------------------------------------------------------------------


def public_url(host: str, port: int) -> str:
    shown = socket.getfqdn() if host in ("0.0.0.0", "::", "") else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def serve(services: Services, host: str, port: int, token: str | None,
          static_dir: Path = STATIC_DIR, announce: Callable[[str], None] = print,
          mounts: MountPolicy = NO_HOST_MOUNTS) -> None:
    """Serve until SIGINT or SIGTERM; then stop taking work and close the store.

    `mounts`: the host folders definitions may mount (`--allow-mount`): whoever can call
    the API may not reach the rest of this machine through a job (DESIGN §6)."""
    check_binding(host, token)
    services.allow_mounts(mounts)
    server, admission = _listening(host, port, token, static_dir)
    url = public_url(host, server.server_address[1])
    dispatcher = LocalDispatcher(services.driver, services.store)
    configure(ApiContext(services.store, services.logs,
                         SteppingOutDispatcher(dispatcher, admission), url, sleep=admission.sleep,
                         mounts=mounts))
    log.info("%s", mounts.describe())
    schedules = ScheduleLoop(services.store, RunService(services.store, dispatcher).start, time.time)

    def start() -> None:
        dispatcher.start()
        schedules.start()

    def stop() -> None:
        schedules.stop()
        dispatcher.stop()
        # Runs still executing carry on in their containers; the next start re-attaches.
        # Their threads now meet a closed store: that is expected, not worth a traceback.
        threading.excepthook = _quiet
        services.close()

    _serve_until_signalled(server, f"containerops is serving {url} (API under /api/); Ctrl-C stops it",
                           announce, start, stop)


def serve_on_aws(services: AwsServices, host: str, port: int, token: str | None,
                 static_dir: Path = STATIC_DIR, announce: Callable[[str], None] = print) -> None:
    """The same server with the API in aws mode on these services (an AWS sandbox's: moto
    as AWS, the jobs on Docker), so the designer can be tried against the serverless path.
    Runs are driven by what drives the services (the sandbox's pump), not by this server."""
    check_binding(host, token)
    server, admission = _listening(host, port, token, static_dir)
    url = public_url(host, server.server_address[1])
    sys.modules["app"].use_aws(services)  # the app's aws-mode handlers use them too
    configure(replace(services.api_context(), public_url=url, sleep=admission.sleep))
    _serve_until_signalled(
        server, f"containerops is serving {url} (API under /api/) on the AWS sandbox; nothing is"
        " kept when it stops; Ctrl-C stops it", announce, lambda: None, lambda: None)


def _listening(host: str, port: int, token: str | None,
               static_dir: Path) -> tuple[ApiServer, FairAdmission]:
    app = load_chalice_app()
    # Chalice gives its logger ("containerops", the app's name, so every containerops.*
    # logger below it) a stdout handler at ERROR for Lambda; here the host's logging rules.
    app.log.handlers.clear()
    app.log.propagate = True
    app.log.setLevel(logging.NOTSET)
    gateway = LocalGateway(app, Config())
    admission = FairAdmission()
    try:
        return ApiServer((host, port), gateway, token or None, static_dir, admission), admission
    except OSError as exc:
        raise ServeRefused(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def _serve_until_signalled(server: ApiServer, announcement: str, announce: Callable[[str], None],
                           start: Callable[[], None], stop: Callable[[], None]) -> None:
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    listener = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                name="http", daemon=True)
    try:
        start()
        # The socket listens already (connections wait in its backlog), so the address is
        # announced before the first answer: whoever sees an answer has seen the address.
        announce(announcement)
        listener.start()
        while not stopping.wait(1.0):
            pass
    finally:
        if listener.is_alive():
            server.shutdown()  # stop accepting; waits for the accept loop to end
        server.server_close()
        stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("stopped")


def _quiet(args: threading.ExceptHookArgs) -> None:
    log.debug("thread %s ended after the stop: %r", args.thread, args.exc_value)

