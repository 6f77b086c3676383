"""A job's life on the local driver: attempts one after another, with retries and backoff.

Runs in its own thread and reports to the run's event queue; it never writes the job
record itself (the run execution does, in one thread), only attempts and logs. Whether to
retry, after how long, and what the job ends as are the engine's rules
(`engine.rules.after_attempt`); the worker only waits and launches.

Each container it starts takes a slot of the process's pool (`slots`, the machine's bound)
first and gives it back when the container has ended; a worker stopped while it waits for a
slot ends its attempt `cancelled` without a container. A fan-out instance is a worker like
any other, its plan named by the instance key (`test.3`).

Decision taken here: after a restart, a container found created but never started (the
previous process died between the engine's create and start) is removed and the attempt
starts a container of its own; its command never ran, so nothing runs twice, and the
attempt is not failed for the death of the process.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from chalicelib.domain.states import AttemptState, JobState
from chalicelib.engine.engine import JobPlan
from chalicelib.engine.records import AttemptRecord
from chalicelib.engine.rules import JobEnd, Retry, after_attempt, stopped_before_retry
from chalicelib.errors import ContainerOpsError, EngineUnavailable
from chalicelib.launch.base import ContainerRef, Launcher
from chalicelib.local.attempt import Attempt, AttemptSettings
from chalicelib.local.held import Held, remove_held
from chalicelib.local.slots import ContainerSlots
from chalicelib.logs.base import LogSink
from chalicelib.store.base import Store


@dataclass(frozen=True)
class AttemptStarted:
    job: str
    number: int


@dataclass(frozen=True)
class JobEnded:
    job: str
    attempt: AttemptRecord  # the last one
    attempts: int
    end: JobEnd


@dataclass(frozen=True)
class Resumption:
    """Where a job stood when a previous process stopped: its last attempt, maybe running."""

    attempt: AttemptRecord
    container: ContainerRef | None = None


@dataclass
class JobWorker:
    store: Store
    logs: LogSink
    launcher: Launcher
    plan: JobPlan
    run_id: str
    workspace: str
    settings: AttemptSettings
    events: queue.Queue[object]
    ready_at: float
    resumption: Resumption | None = None
    held: Held | None = None
    clock: Callable[[], float] = time.time
    slots: ContainerSlots | None = None
    _stopped: threading.Event = field(default_factory=threading.Event)
    _stop_reason: str = ""
    _current: Attempt | None = None
    _number: int = 1
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"job-{self.plan.job}", daemon=True)
        self._thread.start()

    def stop(self, reason: str) -> None:
        self._stop_reason = self._stop_reason or reason
        self._stopped.set()
        if self.slots is not None:
            self.slots.wake()
        current = self._current
        if current is not None:
            current.stop(reason)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        try:
            self._attempts()
        except Exception as exc:  # a worker must always report its end, or the run waits forever
            reason = f"internal error: {exc!r}"
            record = AttemptRecord(
                run_id=self.run_id, job=self.plan.job, number=self._number,
                status=AttemptState.FAILED, reason=reason, finished_at=self.clock(),
            )
            self.events.put(JobEnded(self.plan.job, record, self._number,
                                     JobEnd(JobState.FAILED, reason)))
            raise

    def _attempts(self) -> None:
        number, record = self._first_attempt()
        while True:
            self._number = number
            if record is None:
                record = self._new_attempt(number)
            try:
                record = self._attempt(record)
            except EngineUnavailable as exc:
                record.status, record.reason = AttemptState.FAILED, str(exc)
                record.finished_at = self.clock()
                self.store.save_attempt(record)
            stop_reason = self._stop_reason if self._stopped.is_set() else None
            step = after_attempt(self.plan, record, stop_reason=stop_reason)
            if isinstance(step, Retry) and self._stopped.wait(step.delay):
                step = stopped_before_retry(record, self._stop_reason)
            if isinstance(step, JobEnd):
                self.events.put(JobEnded(self.plan.job, record, number, step))
                if self._current is not None:
                    self._current.remove_container()
                return
            if self._current is not None:
                self._current.remove_container()
            number, record = step.attempt, None

    def _first_attempt(self) -> tuple[int, AttemptRecord | None]:
        """Attempt 1, or the attempt a previous process left (running or to be judged)."""
        if self.resumption is None:
            return 1, None
        return self.resumption.attempt.number, self.resumption.attempt

    def _new_attempt(self, number: int) -> AttemptRecord:
        record = AttemptRecord(
            run_id=self.run_id, job=self.plan.job, number=number,
            ready_at=self.ready_at if number == 1 else self.clock(),
        )
        self.store.create_attempt(record)
        self.events.put(AttemptStarted(self.plan.job, number))
        return record

    def _attempt(self, record: AttemptRecord) -> AttemptRecord:
        if record.status is not AttemptState.RUNNING:
            return record
        attempt = Attempt(
            self.store, self.logs, self.launcher, self.plan, record, self.workspace, self.settings, self.clock
        )
        self._current = attempt
        if self._stopped.is_set():
            attempt.stop(self._stop_reason)
        resumption = self.resumption
        if resumption is not None and resumption.attempt.number == record.number:
            if resumption.container is not None and self._never_ran(resumption.container):
                # Created, and the process died before it started it: its command never
                # ran, so the attempt starts a container of its own (nothing runs twice).
                self._remove(resumption.container)
                resumption = self.resumption = Resumption(resumption.attempt)
                record.container_id = None
            if resumption.container is not None:
                if self.slots is not None:
                    self.slots.take_now()
                try:
                    return attempt.run(existing=resumption.container)
                finally:
                    self._give_back()
            if record.container_id is not None:
                record.status = AttemptState.FAILED
                record.reason = "container lost while ContainerOps was down"
                record.finished_at = self.clock()
                self.store.save_attempt(record)
                return record
        held, self.held = self.held, None  # only the first attempt can use it
        if self.slots is not None and not self.slots.take(self._stopped):
            return self._never_started(record, held)
        try:
            return attempt.run(held=held)
        finally:
            self._give_back()

    def _never_ran(self, container: ContainerRef) -> bool:
        """A container that exists but was never started (its command never ran)."""
        try:
            ended = self.launcher.wait(container, timeout=0)
        except ContainerOpsError:
            return False  # judged by the re-attach, as before
        return (ended is not None and ended.started_at is None and ended.finished_at is None
                and bool(ended.error))

    def _remove(self, container: ContainerRef) -> None:
        try:
            self.launcher.remove(container)
        except ContainerOpsError:
            pass  # gone already

    def _give_back(self) -> None:
        if self.slots is not None:
            self.slots.give_back()

    def _never_started(self, record: AttemptRecord, held: Held | None) -> AttemptRecord:
        """Stopped while it waited for a slot: cancelled, and no container started."""
        if held is not None:
            remove_held(self.launcher, held)
        record.status, record.reason = AttemptState.CANCELLED, self._stop_reason
        record.finished_at = self.clock()
        self.store.save_attempt(record, expected=AttemptState.RUNNING)
        return record
