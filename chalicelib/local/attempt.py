"""One attempt of one job on the container engine: start (or re-attach), follow, and
record the engine's verdict.

The attempt record is written before each step it depends on (started, container id,
finished), with the ingest state of its log after each batch of lines, so a process that
dies at any point leaves enough in the store for the next one to re-attach to the
container, or to account for it, and judge it exactly as it would have. What the attempt
comes to is the engine's to say (`engine.rules.attempt_outcome`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.domain.states import AttemptState
from chalicelib.engine.engine import AttemptEnd, JobPlan
from chalicelib.engine.ingest import IngestPolicy, IngestState, LogIngest
from chalicelib.engine.records import AttemptRecord
from chalicelib.engine.rules import attempt_outcome, stop_reason_of
from chalicelib.errors import ContainerOpsError, EngineUnavailable, LaunchError
from chalicelib.launch.base import (
    HELD_LABEL,
    ContainerRef,
    ContainerSpec,
    Launcher,
    MountSpec,
    Started,
    StreamOffsets,
)
from chalicelib.local.held import HOLD_TIMEOUT_SECONDS, Held, remove_held
from chalicelib.local.log_writer import DEFAULT_MAX_STORED_BYTES, LogWriter
from chalicelib.local.workspace import MOUNT_POINT
from chalicelib.logs.base import LogSink
from chalicelib.store.base import Store

LABEL_RUN = "containerops.run"
LABEL_JOB = "containerops.job"
LABEL_ATTEMPT = "containerops.attempt"


@dataclass(frozen=True)
class AttemptSettings:
    container_user: str | None
    max_stored_log_bytes: int = DEFAULT_MAX_STORED_BYTES
    stop_grace: float = 5.0
    warm_start: bool = True  # start the next jobs' containers early, held until due


def attempt_labels(run_id: str, job: str, attempt: int) -> dict[str, str]:
    return {LABEL_RUN: run_id, LABEL_JOB: job, LABEL_ATTEMPT: str(attempt)}


def container_spec(
    plan: JobPlan, record: AttemptRecord, workspace: str, settings: AttemptSettings
) -> ContainerSpec:
    """The container one attempt of a planned job runs in."""
    return ContainerSpec(
        image=plan.image,
        env=plan.environment(record.run_id, record.number),
        labels=attempt_labels(record.run_id, plan.job, record.number),
        command=plan.command,
        mounts=(
            MountSpec(workspace, MOUNT_POINT, read_only=False),
            *(MountSpec(m.source, m.target, m.read_only) for m in plan.mounts),
        ),
        cpu_request=plan.resources.cpu_request,
        cpu_limit=plan.resources.cpu_limit,
        memory_request_bytes=plan.memory_request_bytes,
        memory_limit_bytes=plan.memory_limit_bytes,
        user=settings.container_user,
    )


class Attempt:
    """Runs one attempt in the calling thread; `stop()` may be called from any thread."""

    def __init__(
        self,
        store: Store,
        logs: LogSink,
        launcher: Launcher,
        plan: JobPlan,
        record: AttemptRecord,
        workspace: str,
        settings: AttemptSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._logs = logs
        self._launcher = launcher
        self._plan = plan
        self.record = record
        self._workspace = workspace
        self._settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._container: ContainerRef | None = None
        self._stop_reason = ""
        self._timed_out = False
        self._released = False

    # --- control from other threads ---------------------------------------------------
    def stop(self, reason: str) -> None:
        with self._lock:
            self._stop_reason = self._stop_reason or reason
            container = self._container
        if container is not None:
            self._stop_container(container)

    # --- the attempt ------------------------------------------------------------------
    def run(self, existing: ContainerRef | None = None, held: Held | None = None) -> AttemptRecord:
        """Start a container (release `held`, or re-attach to `existing`) and follow it to
        its end; store the verdict."""
        writer = self._writer()
        if existing is not None:
            started = self._reattach(existing)
        else:
            try:
                started = self._start(held)
            except EngineUnavailable:
                raise
            except LaunchError as exc:
                return self._finish(writer, AttemptEnd(None, launch_error=str(exc)))
        container = started.container
        with self._lock:
            self._container = container
            stop_now = bool(self._stop_reason)
        if stop_now:
            self._stop_container(container)
        timer = self._arm_timeout(container)
        try:
            for chunk in started.output:
                writer.feed(chunk.stream, chunk.source_time, chunk.data)
            writer.close()
            exit_info = self._launcher.wait(container, timeout=None)
        finally:
            timer.cancel()
            started.close()
        stop_reason = stop_reason_of(
            self._stop_reason,
            run_cancelled=not self._timed_out and self._store.get_run(self.record.run_id).cancel_requested,
        )
        end = AttemptEnd(
            exit_code=exit_info.exit_code if exit_info else None,
            timed_out=self._timed_out,
            cancelled=bool(stop_reason),
            oom_killed=bool(exit_info and exit_info.oom_killed),
            # The engine's word for a container that never ran its command (one it could not
            # exec, one created but never started): the reason, rather than a bare exit code.
            launch_error=exit_info.error if exit_info is not None and not stop_reason else "",
            stop_reason=stop_reason,
        )
        if exit_info is not None:
            if not self._released:  # a held container started long before its process did
                self.record.started_at = exit_info.started_at or self.record.started_at
            self.record.finished_at = exit_info.finished_at
        return self._finish(writer, end)

    def remove_container(self) -> None:
        if self._container is not None:
            try:
                self._launcher.remove(self._container)
            except ContainerOpsError:
                pass  # a container left behind is removed by the next resume's sweep

    @property
    def stop_reason(self) -> str:
        return self._stop_reason

    # --- steps ------------------------------------------------------------------------
    def _start(self, held: Held | None) -> Started:
        spec = container_spec(self._plan, self.record, self._workspace, self._settings)
        started = self._release(held, spec) if held is not None else None
        if started is None:
            started = self._launcher.start(spec)
        self.record.container_id = started.container.id
        self.record.started_at = self.record.started_at or self._clock()
        self._store.save_attempt(self.record)
        return started

    def _release(self, held: Held, spec: ContainerSpec) -> Started | None:
        """Use the held container if it is the one this attempt needs; None to start cold."""
        try:
            container = held.container.result(timeout=HOLD_TIMEOUT_SECONDS)
        except (ContainerOpsError, TimeoutError):
            return None
        if not held.matches(spec):
            remove_held(self._launcher, held)
            return None
        # Recorded before the release, so a restart knows this container is the attempt's.
        self.record.container_id = container.id
        self._store.save_attempt(self.record)
        try:
            started = self._launcher.release(container, spec.env)
        except LaunchError:
            remove_held(self._launcher, held)
            return None
        self._released = True
        self.record.started_at = self._clock()
        return started

    def _reattach(self, container: ContainerRef) -> Started:
        """Follow a container found after a restart, from where the stored output ends.

        A held container may never have been released: release it (once released, its
        stdin is closed, so a second release changes nothing) and read its output from
        the engine's log like any other.
        """
        if container.labels.get(HELD_LABEL):
            spec = container_spec(self._plan, self.record, self._workspace, self._settings)
            try:
                self._launcher.release(container, spec.env).close()
            except ContainerOpsError:
                pass
            self._released = True
        offsets = StreamOffsets(self.record.stdout_bytes, self.record.stderr_bytes)
        return Started(container, self._launcher.output(container, skip=offsets))

    def _arm_timeout(self, container: ContainerRef) -> threading.Timer:
        started = self.record.started_at or self._clock()
        remaining = max(0.0, self._plan.timeout - (self._clock() - started))

        def expire() -> None:
            self._timed_out = True
            self._stop_container(container)

        timer = threading.Timer(remaining, expire)
        timer.daemon = True
        timer.start()
        return timer

    def _stop_container(self, container: ContainerRef) -> None:
        try:
            self._launcher.stop(container, grace=self._settings.stop_grace)
        except ContainerOpsError:
            pass  # already gone: its end is read from wait()

    def _writer(self) -> LogWriter:
        """A writer that carries on from what the record says was read (nothing, for a new
        attempt; after a restart, everything the previous process had read)."""
        record = self.record
        policy = IngestPolicy(self._plan.secret_values, self._settings.max_stored_log_bytes)
        return LogWriter(
            self._logs, record.run_id, record.job, record.number,
            LogIngest(policy, IngestState.of(record)),
            consumed=StreamOffsets(record.stdout_bytes, record.stderr_bytes),
            on_flush=self._save_progress,
            atomic=self._store.atomically,
            clock=self._clock,
        )

    def _save_progress(self, writer: LogWriter) -> None:
        """Record how far the stored output reaches, after each batch of lines."""
        self._note_output(writer)
        self._store.save_attempt(self.record)

    def _note_output(self, writer: LogWriter) -> None:
        record = self.record
        consumed = writer.consumed
        record.stdout_bytes, record.stderr_bytes = consumed.stdout, consumed.stderr
        writer.ingest.state.save_into(record)

    def _finish(self, writer: LogWriter, end: AttemptEnd) -> AttemptRecord:
        outcome = attempt_outcome(self._plan, end, writer.ingest)
        for note in outcome.notes:
            writer.note(note)
        writer.flush()
        record = self.record
        record.status, record.reason = outcome.status, outcome.reason
        record.exit_code = end.exit_code
        record.finished_at = record.finished_at or self._clock()
        self._note_output(writer)
        self._store.save_attempt(record, expected=AttemptState.RUNNING)
        return record
