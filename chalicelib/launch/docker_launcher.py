"""The Launcher on a local Docker engine, through the docker SDK's low-level API client.

It creates one hardened container per job (no privileges, no capabilities, no new privileges,
never the engine's socket), follows its output frame by frame with the engine's timestamps,
waits for it and removes it. It never pulls: an image that is not on the engine already is
`ImageNotFound`. Every SDK and `requests` error is translated here, in `_engine_errors`, into
the project's hierarchy (chalicelib/errors.py): an unreachable engine is `EngineUnavailable`,
a container that vanished is `NotFound`, anything else the engine refuses is `LaunchError`.

Every container runs under the engine's init process (Docker's `--init`, tini). The kernel
delivers no signal to a PID 1 that has not installed a handler for it, so without one a job's
`sh` loop ignored the SIGTERM of a stop and ran on until the grace period's SIGKILL (a
cancelled job could even finish its work first). Under the init the job's process is PID 2:
a stop ends it at once (exit 143) unless it traps SIGTERM itself, and the grace period is
still there for one that does. The init also moves the failure of a command that cannot be
executed from the start to the container's end (exit 126 or 127, the init's message on
stderr): `wait` recognises that message and reports it as the exit's `error`.

What following output means on this engine (measured on Docker 20.10, json-file driver):

* One frame is one log message. The engine cuts a line longer than 16 KiB into partial
  messages of 16 KiB; a partial does not end in b"\\n", the last part of a line does. All the
  parts of one line carry the timestamp of its first part.
* `since` is inclusive: following from a source time repeats every frame stamped exactly
  that time (all parts of a cut line, when the time is a cut line's). The driver drops the
  repeats by timestamp.
* The engine may end a live follow before it has sent an unterminated last line flushed when
  the container exits (`printf noeol` lost it in 2 runs of 3). `output` therefore reads the
  end of the finished log once more and yields what the follow missed.
* Source times are not in file order across stdout and stderr (each stream stamps its
  message before they take turns writing), so that second read finds its place by counting
  frames, not by comparing times.
"""

from __future__ import annotations

import logging
import math
import os
import re
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import docker
import docker.errors
import requests
from docker.types import LogConfig, Mount

from chalicelib.domain.host_mounts import exposes_engine_socket
from chalicelib.errors import EngineUnavailable, ImageNotFound, LaunchError, NotFound
from chalicelib.launch.base import (
    HELD_LABEL,
    NO_OFFSETS,
    ContainerExit,
    ContainerRef,
    ContainerSpec,
    Launcher,
    MountSpec,
    OutputChunk,
    Started,
    StreamOffsets,
)
from chalicelib.launch.docker_gate import (
    GATE_MOUNT,
    can_carry,
    find_static_busybox,
    gate_entrypoint,
    release_line,
)
from chalicelib.launch.docker_relay import (
    RELAY_LABEL,
    RELAY_MOUNT,
    decoded,
    find_relay,
    is_relayed,
    relay_entrypoint,
)
from chalicelib.launch.docker_stream import (
    STDERR,
    STDOUT,
    FollowedFrames,
    engine_since,
    frames,
    output_chunk,
    skip_consumed,
    stream_name,
    unix_time,
)

MANAGED_LABEL = "containerops.managed"
DEFAULT_PIDS_LIMIT = 1024
# The engine keeps each container's output on the host disk (json-file). Capping the file
# protects the disk from a container that floods its output, at a price: when a file rotates
# while the follower is still behind in it, this engine's follower jumps to the new file and
# skips the rest (measured: with 1m x 3 files, 40% of 20 MB written in 0.3 s never arrived).
# So the cap is one file far larger than the follower ever lags behind in practice (it keeps
# up with a container writing ~55 MB/s; it reads a finished log at ~100 MB/s) and a second
# to rotate into: at most 512 MiB of disk per container. Only output produced beyond 256 MiB
# faster than it is read can be lost, and a resumed follow cannot reach rotated-away files.
DEFAULT_LOG_MAX_SIZE = "256m"
DEFAULT_LOG_MAX_FILES = 2
_DEFAULT_ENGINE_ADDRESS = "unix:///var/run/docker.sock"
_ATTACH_READ_BYTES = 64 * 1024
_CATCH_UP_SLACK = 64  # frames the follow may have missed before a full re-read is needed
_CPU_SHARES_PER_CPU = 1024
_MIN_CPU_SHARES = 2  # the kernel's minimum cpu.shares
_STILL_RUNNING_STATES = frozenset({"running", "paused", "restarting"})
# The codes and message of the engine's init (tini) when it cannot exec the job's command:
# `[FATAL tini (7)] exec /no/such/binary failed: No such file or directory`.
_EXEC_FAILED_CODES = frozenset({126, 127})
_INIT_FATAL = re.compile(r"^\[FATAL tini \(\d+\)\] (exec .* failed: .*)$")
# The output relay's words for the same (chalicelib/launch/docker_relay.py).
_RELAY_FATAL = re.compile(r"^co-relay: (exec .* failed: .*)$")
_log = logging.getLogger("containerops.launch")

class DockerLauncher(Launcher):
    def __init__(
        self,
        client: docker.DockerClient,
        *,
        pids_limit: int = DEFAULT_PIDS_LIMIT,
        log_max_size: str = DEFAULT_LOG_MAX_SIZE,
        log_max_files: int = DEFAULT_LOG_MAX_FILES,
        gate_binary: str | None = None,
        relay_binary: str | None = None,
    ) -> None:
        self._api = client.api
        self._pids_limit = pids_limit
        self._gate_binary = gate_binary
        self._relay_binary = relay_binary  # stdout and stderr in write order (docker_relay)
        self._log_config = LogConfig(
            type=LogConfig.types.JSON,
            config={"max-size": log_max_size, "max-file": str(log_max_files)},
        )

    @classmethod
    def from_environment(cls, timeout: int = 60, max_pool_size: int = 64) -> DockerLauncher:
        """Connect as the docker CLI would (DOCKER_HOST, else the local socket).

        One pooled connection per followed container: size the pool for the jobs that run
        at once, or the SDK opens and discards extra connections.
        """
        address = os.environ.get("DOCKER_HOST") or _DEFAULT_ENGINE_ADDRESS
        try:
            client = docker.from_env(timeout=timeout, max_pool_size=max_pool_size)
            client.ping()
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise EngineUnavailable(
                f"cannot reach the Docker engine at {address}: is dockerd running? "
                "(install docker.io and start dockerd)"
            ) from exc
        relay = find_relay()
        if relay is None:
            _log.warning(
                "the output relay is not built (make relay): a job's stdout and stderr lines"
                " are stored in the order the engine delivers them, not always as printed"
            )
        return cls(client, gate_binary=find_static_busybox(), relay_binary=relay)

    # -- held containers (see docker_gate) --------------------------------------------------

    def can_hold(self, env_names: Iterable[str]) -> bool:
        return self._gate_binary is not None and can_carry(env_names)

    def start_held(self, spec: ContainerSpec) -> ContainerRef:
        if self._gate_binary is None:
            raise LaunchError("no static busybox on this host to hold containers with")
        for mount in spec.mounts:
            _refuse_engine_socket(mount)
        command = self._image_command(spec)
        gate = MountSpec(self._gate_binary, GATE_MOUNT, read_only=True)
        labels = {**spec.labels, MANAGED_LABEL: "true", HELD_LABEL: "true"}
        held = replace(spec, mounts=(*spec.mounts, gate))
        entrypoint, spec = self._relayed(gate_entrypoint(), held, labels)
        with _engine_errors(f"creating a container from {spec.image}", image=spec.image):
            created = self._api.create_container(
                spec.image,
                entrypoint=entrypoint,
                command=command,
                environment=spec.env,
                labels=labels,
                user=spec.user,
                # Not detached, so the engine sets StdinOnce: when the release closes stdin,
                # the container's stdin closes and the output streams stay attached.
                detach=False,
                stdin_open=True,
                host_config=self._host_config(spec),
            )
        return self._started(created["Id"], spec.image, labels)

    def release(self, container: ContainerRef, env: dict[str, str]) -> Started:
        """Hand the gate its environment over the attach socket; the process starts at once.

        The same socket then carries the process's output, from its first byte.
        """
        attached = self._attach(container.id, stdin=True)
        try:
            raw = _raw_socket(attached)
            if raw is None:
                raise OSError("the attach socket is closed")
            raw.sendall(release_line(env))
            raw.shutdown(socket.SHUT_WR)  # the engine closes the container's stdin
        except OSError as exc:
            _close_attached(attached)
            raise LaunchError(f"releasing container {container.id[:12]}: {exc}") from exc
        return Started(
            container, self._job_output(container, self._attached_output(container.id, attached)),
            lambda: _close_attached(attached),
        )

    def ping(self) -> None:
        with _engine_errors("pinging the engine"):
            self._api.ping()

    def start(self, spec: ContainerSpec) -> Started:
        """Create, attach to and start the container: its output is read live, complete.

        Attached before the start (as `docker run` does), the stream holds every byte and
        ends when the container's output closes; no log file is read on this path.
        """
        for mount in spec.mounts:
            _refuse_engine_socket(mount)
        labels = {**spec.labels, MANAGED_LABEL: "true"}
        entrypoint, command = None, spec.command
        if self._relay_binary is not None:
            entrypoint, spec = self._relayed(self._image_command(spec), spec, labels)
            command = None  # all of it is in the entrypoint: the relay's arguments
        host_config = self._host_config(spec)
        with _engine_errors(f"creating a container from {spec.image}", image=spec.image):
            created = self._api.create_container(
                spec.image,
                entrypoint=entrypoint,
                command=command,
                environment=spec.env,
                labels=labels,
                user=spec.user,
                name=spec.name,
                detach=True,
                tty=False,
                stdin_open=False,
                host_config=host_config,
            )
        try:
            attached = self._attach(created["Id"], stdin=False)
        except LaunchError:
            self._discard(created["Id"])
            raise
        try:
            container = self._started(created["Id"], spec.image, labels)
        except LaunchError:
            _close_attached(attached)
            raise
        return Started(
            container, self._job_output(container, self._attached_output(container.id, attached)),
            lambda: _close_attached(attached),
        )

    def _image_command(self, spec: ContainerSpec) -> list[str]:
        """The whole argv the container would run: the image's entrypoint, then the spec's
        command or else the image's."""
        with _engine_errors(f"inspecting image {spec.image}", image=spec.image):
            image: dict[str, Any] = self._api.inspect_image(spec.image)  # type: ignore[no-untyped-call]
            config = image.get("Config") or {}
        command = [*(config.get("Entrypoint") or []), *(spec.command or config.get("Cmd") or [])]
        if not command:
            raise LaunchError(f"image {spec.image} has no command to run")
        return command

    def _relayed(
        self, command: list[str], spec: ContainerSpec, labels: dict[str, str]
    ) -> tuple[list[str], ContainerSpec]:
        """The entrypoint that runs `command` under the output relay (when it is built), the
        spec with the relay's mount, and the label that says to decode its output."""
        if self._relay_binary is None:
            return command, spec
        labels[RELAY_LABEL] = "true"
        relay = MountSpec(self._relay_binary, RELAY_MOUNT, read_only=True)
        return relay_entrypoint(command), replace(spec, mounts=(*spec.mounts, relay))

    @staticmethod
    def _job_output(container: ContainerRef, chunks: Iterator[OutputChunk]) -> Iterator[OutputChunk]:
        """The job's own stdout and stderr: the relay's records decoded, when it ran under it."""
        return decoded(chunks) if is_relayed(container.labels) else chunks

    def _started(self, container_id: str, image: str, labels: dict[str, str]) -> ContainerRef:
        try:
            with _engine_errors(f"starting a container from {image}"):
                self._api.start(container_id)
        except LaunchError:
            self._discard(container_id)
            raise
        return ContainerRef(id=container_id, labels=labels)

    def _attach(self, container_id: str, *, stdin: bool) -> Any:
        params = {"stdout": 1, "stderr": 1, "stream": 1, **({"stdin": 1} if stdin else {})}
        with _engine_errors(f"attaching to container {container_id[:12]}"):
            return self._api.attach_socket(container_id, params=params)

    def _attached_output(self, container_id: str, attached: Any) -> Iterator[OutputChunk]:
        raw = _raw_socket(attached)
        if raw is None:
            return

        def reads() -> Iterator[bytes]:
            while data := raw.recv(_ATTACH_READ_BYTES):
                yield data

        try:
            with _engine_errors(f"reading the output of container {container_id[:12]}"):
                for kind, payload in frames(reads()):
                    if kind in (STDOUT, STDERR):
                        yield OutputChunk("", payload, stream_name(kind))
        except OSError as exc:
            raise EngineUnavailable(
                f"lost the Docker engine while reading container {container_id[:12]}: {exc}"
            ) from exc
        finally:
            _close_attached(attached)

    def output(
        self, container: ContainerRef, skip: StreamOffsets = NO_OFFSETS
    ) -> Iterator[OutputChunk]:
        """Follow stdout and stderr from the engine's log until the container ends.

        Holds one frame (16 KiB and its header) plus one read in memory while following,
        and at most _CATCH_UP_SLACK frames in the final read of the finished log.
        """
        followed = FollowedFrames()

        def everything() -> Iterator[OutputChunk]:
            for chunk in self._read_output(container.id, follow=True, since=""):
                followed.count(chunk.source_time)
                yield chunk
            yield from self._missed_by_follow(container.id, "", followed)

        # Skipped after decoding: the offsets count the job's bytes of each stream.
        yield from skip_consumed(self._job_output(container, everything()), skip)

    def wait(self, container: ContainerRef, timeout: float | None = None) -> ContainerExit | None:
        if timeout is not None and timeout <= 0:
            return self._exit_if_ended(container.id)
        try:
            with _engine_errors(f"waiting for container {container.id[:12]}"):
                response = self._api.post(
                    self._url("/containers/{}/wait", container.id),
                    params={"condition": "not-running"},
                    timeout=timeout,
                )
                _raise_for_status(response)
        except EngineUnavailable:
            if timeout is None:
                raise
            # A wait cut by its timeout and a dead engine both surface as a requests
            # timeout or connection error: the inspect tells them apart (it raises
            # EngineUnavailable itself when the engine is gone).
            return self._exit_if_ended(container.id)
        return self._exit_if_ended(container.id)

    def stop(self, container: ContainerRef, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds (whole seconds, rounded up)."""
        with suppress(NotFound), _engine_errors(f"stopping container {container.id[:12]}"):
            self._api.stop(container.id, timeout=math.ceil(max(grace, 0.0)))

    def remove(self, container: ContainerRef) -> None:
        self._discard(container.id, quietly=False)

    def find(self, labels: dict[str, str]) -> list[ContainerRef]:
        """Containers this project started (running or exited) that carry all `labels`."""
        wanted = {**labels, MANAGED_LABEL: "true"}
        with _engine_errors("listing containers"):
            rows = self._api.containers(
                all=True, filters={"label": [f"{key}={value}" for key, value in wanted.items()]}
            )
        return [ContainerRef(id=row["Id"], labels=dict(row.get("Labels") or {})) for row in rows]

    # -- internals -------------------------------------------------------------------------

    def _host_config(self, spec: ContainerSpec) -> dict[str, Any]:
        resources: dict[str, Any] = {}
        if spec.cpu_limit is not None:
            resources["nano_cpus"] = round(spec.cpu_limit * 1e9)
        if spec.cpu_request is not None:
            shares = round(spec.cpu_request * _CPU_SHARES_PER_CPU)
            resources["cpu_shares"] = max(_MIN_CPU_SHARES, shares)
        if spec.memory_limit_bytes is not None:
            resources["mem_limit"] = spec.memory_limit_bytes
            # Without this the engine lets the container swap as much again: a limit
            # should mean what it says, as it does on ECS and Kubernetes.
            resources["memswap_limit"] = spec.memory_limit_bytes
        if spec.memory_request_bytes is not None:
            resources["mem_reservation"] = spec.memory_request_bytes
        host_config: dict[str, Any] = self._api.create_host_config(
            privileged=False,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            pids_limit=self._pids_limit,
            mounts=[
                Mount(target=m.target, source=m.source, type="bind", read_only=m.read_only)
                for m in spec.mounts
            ],
            log_config=self._log_config,
            init=True,  # signals reach the job's process (see the module's docstring)
            # The driver removes a container only once its output is stored.
            auto_remove=False,
            **resources,
        )
        return host_config

    def _read_output(
        self, container_id: str, *, follow: bool, since: str, tail: int | None = None
    ) -> Iterator[OutputChunk]:
        # Straight to the HTTP endpoint rather than through APIClient.logs: that one
        # inspects the container first (an extra request) and takes `since` as a float,
        # which cannot hold a nanosecond timestamp of this century.
        params: dict[str, str | int] = {
            "stdout": 1,
            "stderr": 1,
            "timestamps": 1,
            "follow": int(follow),
            "tail": "all" if tail is None else tail,
        }
        if since:
            params["since"] = engine_since(since)
        action = f"following the output of container {container_id[:12]}"
        with _engine_errors(action):
            response = self._api.get(
                self._url("/containers/{}/logs", container_id),
                params=params,
                stream=True,
                # Connect within the client's timeout; then wait as long as the container
                # stays silent.
                timeout=(self._api.timeout, None),
            )
            try:
                _raise_for_status(response)
                for kind, payload in frames(response.iter_content(chunk_size=None)):
                    if kind not in (STDOUT, STDERR):
                        message = payload.decode("utf-8", "replace").strip()
                        raise LaunchError(f"{action}: the engine reported {message}")
                    yield output_chunk(payload, kind)
            finally:
                response.close()

    def _missed_by_follow(
        self, container_id: str, since: str, followed: FollowedFrames
    ) -> Iterator[OutputChunk]:
        """What an ended follow did not deliver, read from the now complete log file.

        Frames at or after `resume_at` come, in file order, as the `already` followed ones
        and then the missed ones. A window of the log's last frames holds them all when it
        also reaches back past `resume_at`, that is when it is not full: the usual case,
        one small read. Otherwise the whole log is filtered by time, which the engine does
        by decoding all of it (1.2 s for 100 MB).
        """
        resume_at, already = followed.resume_point(since)
        window = already + _CATCH_UP_SLACK
        missed: list[OutputChunk] = []
        seen = 0
        for chunk in self._read_output(container_id, follow=False, since=resume_at, tail=window):
            seen += 1
            if seen > already:
                missed.append(chunk)  # at most _CATCH_UP_SLACK of them
        if seen < window:
            yield from missed
            return
        everything = self._read_output(container_id, follow=False, since=resume_at)
        for position, chunk in enumerate(everything, start=1):
            if position > already:
                yield chunk

    def _exit_if_ended(self, container_id: str) -> ContainerExit | None:
        with _engine_errors(f"inspecting container {container_id[:12]}"):
            state: dict[str, Any] = self._api.inspect_container(container_id)["State"]
        status = state.get("Status", "")
        if status in _STILL_RUNNING_STATES:
            return None
        if status == "created":
            # Left behind by a start that never happened (the server died in between):
            # the engine would call it exit 0, which would pass for success.
            return ContainerExit(
                exit_code=-1,
                started_at=None,
                finished_at=None,
                error="the container was created but never started",
            )
        started_at = unix_time(state.get("StartedAt", ""))
        finished_at = unix_time(state.get("FinishedAt", ""))
        if started_at is not None and finished_at is not None and started_at > finished_at:
            # The engine stamps StartedAt after the start call returns; a process that
            # ends at once has finished (by < 1 ms) before it "started" (seen 3 runs of 6).
            started_at = finished_at
        exit_code = int(state.get("ExitCode", -1))
        return ContainerExit(
            exit_code=exit_code,
            started_at=started_at,
            finished_at=finished_at,
            oom_killed=bool(state.get("OOMKilled", False)),
            error=str(state.get("Error") or "") or self._exec_failure(container_id, exit_code),
        )

    def _exec_failure(self, container_id: str, exit_code: int) -> str:
        """Why the init could not run the command, when that is how the container ended."""
        if exit_code not in _EXEC_FAILED_CODES:
            return ""
        try:
            last = list(self._read_output(container_id, follow=False, since="", tail=1))
        except (LaunchError, EngineUnavailable, NotFound):
            return ""
        text = b"".join(c.data for c in last if c.stream == "stderr").decode("utf-8", "replace")
        said = _INIT_FATAL.match(text.strip()) or _RELAY_FATAL.match(text.strip())
        return f"the container's command could not be run: {said.group(1)}" if said else ""

    def _discard(self, container_id: str, *, quietly: bool = True) -> None:
        """Force-remove a container (and its anonymous volumes); one already gone is fine."""
        try:
            with suppress(NotFound), _engine_errors(f"removing container {container_id[:12]}"):
                self._api.remove_container(container_id, force=True, v=True)
        except LaunchError as exc:
            if "already in progress" in str(exc):
                return
            if not quietly:
                raise
        except EngineUnavailable:
            if not quietly:
                raise

    def _url(self, path: str, container_id: str) -> str:
        return f"{self._api.base_url}/v{self._api.api_version}" + path.format(quote(container_id, safe=""))


@contextmanager
def _engine_errors(action: str, image: str | None = None) -> Iterator[None]:
    """Translate what the docker SDK and requests raise into the project's errors."""
    try:
        yield
    except docker.errors.NotFound as exc:
        if image is not None and _is_missing_image(exc):
            raise ImageNotFound(image) from exc
        raise NotFound(f"{action}: {_explanation(exc)}") from exc
    except docker.errors.APIError as exc:
        raise LaunchError(f"{action}: {_explanation(exc)}") from exc
    except requests.exceptions.RequestException as exc:  # connection, timeout, cut stream
        raise EngineUnavailable(
            f"lost the Docker engine while {action}: is dockerd still running? ({exc})"
        ) from exc
    except docker.errors.DockerException as exc:  # the SDK refused the request itself
        raise LaunchError(f"{action}: {exc}") from exc


def _raw_socket(attached: Any) -> socket.socket | None:
    """The socket under the SDK's attach answer (a SocketIO wraps it on a local engine)."""
    raw: socket.socket | None = getattr(attached, "_sock", attached)
    return raw


def _close_attached(attached: Any) -> None:
    """Close the SDK's wrapper and the socket under it (closing the wrapper alone leaks it)."""
    raw = _raw_socket(attached)
    attached.close()
    if raw is not None:
        raw.close()


def _is_missing_image(exc: docker.errors.NotFound) -> bool:
    return isinstance(exc, docker.errors.ImageNotFound) or "no such image" in _explanation(exc).lower()


def _explanation(exc: docker.errors.APIError) -> str:
    return str(exc.explanation or exc)


def _raise_for_status(response: requests.Response) -> None:
    """Raise for an error answer the way the SDK does, so `_engine_errors` maps it."""
    try:
        response.raise_for_status()
    except requests.exceptions.HTTPError as exc:
        docker.errors.create_api_error_from_http_exception(exc)


def _refuse_engine_socket(mount: MountSpec) -> None:
    """The backstop of the mount policy's socket rule (chalicelib/domain/host_mounts.py)."""
    if exposes_engine_socket(mount.source, on_host=True) or exposes_engine_socket(
        mount.target, on_host=False
    ):
        raise LaunchError(
            f"refusing to mount {mount.source} at {mount.target}: "
            "a container never gets the Docker engine's socket"
        )
