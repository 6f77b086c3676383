"""One attempt of one job on the container engine: start (or re-attach), follow, judge.

The attempt record is written before each step it depends on (started, container id,
finished), so a process that dies at any point leaves enough in the store for the next
one to re-attach to the container or to account for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.domain.protocol import OutputCollector
from chalicelib.domain.states import AttemptState
from chalicelib.engine.engine import AttemptEnd, JobPlan, SecretMasker, judge_attempt
from chalicelib.engine.records import AttemptRecord
from chalicelib.errors import ContainerOpsError, EngineUnavailable, LaunchError
from chalicelib.launch.base import ContainerRef, ContainerSpec, Launcher, MountSpec
from chalicelib.local.log_writer import DEFAULT_MAX_STORED_BYTES, LogWriter
from chalicelib.local.workspace import MOUNT_POINT
from chalicelib.store.base import Store

LABEL_RUN = "containerops.run"
LABEL_JOB = "containerops.job"
LABEL_ATTEMPT = "containerops.attempt"


@dataclass(frozen=True)
class AttemptSettings:
    container_user: str | None
    max_stored_log_bytes: int = DEFAULT_MAX_STORED_BYTES
    stop_grace: float = 5.0


def attempt_labels(run_id: str, job: str, attempt: int) -> dict[str, str]:
    return {LABEL_RUN: run_id, LABEL_JOB: job, LABEL_ATTEMPT: str(attempt)}


class Attempt:
    """Runs one attempt in the calling thread; `stop()` may be called from any thread."""

    def __init__(
        self,
        store: Store,
        launcher: Launcher,
        plan: JobPlan,
        record: AttemptRecord,
        workspace: str,
        settings: AttemptSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
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

    # --- control from other threads ---------------------------------------------------
    def stop(self, reason: str) -> None:
        with self._lock:
            self._stop_reason = self._stop_reason or reason
            container = self._container
        if container is not None:
            self._stop_container(container)

    # --- the attempt ------------------------------------------------------------------
    def run(self, existing: ContainerRef | None = None) -> AttemptRecord:
        """Start a container (or follow `existing`) to its end and store the verdict."""
        collector = OutputCollector()
        writer = self._writer(collector, resuming=existing is not None)
        container = existing
        if container is None:
            try:
                container = self._start()
            except EngineUnavailable:
                raise
            except LaunchError as exc:
                return self._finish(writer, AttemptEnd(None, launch_error=str(exc)))
        with self._lock:
            self._container = container
            stop_now = bool(self._stop_reason)
        if stop_now:
            self._stop_container(container)
        timer = self._arm_timeout(container)
        try:
            for chunk in self._launcher.output(container, since=writer.skip_through[0]):
                writer.feed(chunk.source_time, chunk.data)
            writer.close()
            exit_info = self._launcher.wait(container, timeout=None)
        finally:
            timer.cancel()
        end = AttemptEnd(
            exit_code=exit_info.exit_code if exit_info else None,
            timed_out=self._timed_out,
            cancelled=bool(self._stop_reason),
            oom_killed=bool(exit_info and exit_info.oom_killed),
        )
        if exit_info is not None:
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
    def _start(self) -> ContainerRef:
        plan = self._plan
        spec = ContainerSpec(
            image=plan.image,
            env=plan.environment(self.record.run_id, self.record.number),
            labels=attempt_labels(self.record.run_id, plan.job, self.record.number),
            command=plan.command,
            mounts=(
                MountSpec(self._workspace, MOUNT_POINT, read_only=False),
                *(MountSpec(m.source, m.target, m.read_only) for m in plan.mounts),
            ),
            cpu_request=plan.resources.cpu_request,
            cpu_limit=plan.resources.cpu_limit,
            memory_request_bytes=plan.memory_request_bytes,
            memory_limit_bytes=plan.memory_limit_bytes,
            user=self._settings.container_user,
        )
        container = self._launcher.start(spec)
        self.record.container_id = container.id
        self.record.started_at = self.record.started_at or self._clock()
        self._store.save_attempt(self.record)
        return container

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

    def _writer(self, collector: OutputCollector, *, resuming: bool) -> LogWriter:
        record = self.record
        last = self._store.last_log_line(record.run_id, record.job, record.number)
        writer = LogWriter(
            self._store, record.run_id, record.job, record.number,
            SecretMasker(self._plan.secret_values), collector,
            next_seq=(last.seq + 1) if last else 1,
            stored_bytes=record.log_bytes,
            max_stored_bytes=self._settings.max_stored_log_bytes,
            clock=self._clock,
        )
        if resuming and last is not None:
            self._replay_stored(writer, last.seq)
        return writer

    def _replay_stored(self, writer: LogWriter, last_seq: int) -> None:
        """Rebuild outputs from stored lines and note where the stored output ends."""
        record = self.record
        after, repeats, last_time = 0, 0, ""
        while after < last_seq:
            lines = self._store.read_logs(record.run_id, record.job, record.number, after, 1000)
            if not lines:
                break
            for line in lines:
                if line.is_cout:
                    writer.collector.add_line(line.text)
                if line.source_time:
                    repeats = repeats + 1 if line.source_time == last_time else 1
                    last_time = line.source_time
            after = lines[-1].seq
        writer.skip_through = (last_time, repeats)

    def _finish(self, writer: LogWriter, end: AttemptEnd) -> AttemptRecord:
        verdict = judge_attempt(self._plan, end, writer.collector)
        if end.launch_error:
            writer.note(end.launch_error)
        elif not verdict.succeeded and end.timed_out:
            writer.note(f"stopped: timeout after {self._plan.timeout:g}s")
        writer.flush()
        record = self.record
        record.status = (
            AttemptState.SUCCEEDED if verdict.succeeded
            else AttemptState.CANCELLED if end.cancelled else AttemptState.FAILED
        )
        record.reason = self._stop_reason if end.cancelled and not end.timed_out else verdict.reason
        record.exit_code = end.exit_code
        record.outputs = dict(writer.collector.outputs)
        record.finished_at = record.finished_at or self._clock()
        record.log_bytes = writer.stored_bytes
        record.log_truncated = writer.truncated
        self._store.save_attempt(record)
        return record
