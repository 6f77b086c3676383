"""The local RunDispatcher: executes submitted runs on background threads of this process.

Each run executes on its own daemon thread through the local driver, which writes every
state change before acting on it; so when the process exits, running containers keep
running and the next `start()` re-attaches to them. A workflow's `spec.concurrency` (of
the version a run pinned) bounds how many of its runs this process executes at once; the
others stay `queued` and start oldest first as runs of that workflow end. A queued run that
is cancelled is executed at once, outside the bound: the driver sees its cancel flag before
starting anything and ends it `cancelled` without a container.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from chalicelib.domain.states import RunState
from chalicelib.engine.records import RunRecord
from chalicelib.errors import ContainerOpsError
from chalicelib.store.base import RunFilter, Store

log = logging.getLogger("containerops.dispatcher")

WorkflowKey = tuple[str, str]


class RunExecutor(Protocol):
    """What the dispatcher needs of the local driver."""

    def execute(self, run_id: str) -> RunRecord: ...

    def cancel(self, run_id: str) -> RunRecord: ...

    def sweep_containers(self) -> int: ...


@dataclass(order=True, frozen=True)
class _Waiting:
    created_at: float
    run_id: str
    limit: int | None = field(compare=False)


class LocalDispatcher:
    def __init__(self, driver: RunExecutor, store: Store, clock: Callable[[], float] = time.time) -> None:
        self._driver = driver
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._accepting = True
        self._waiting: dict[WorkflowKey, list[_Waiting]] = {}
        self._counted: dict[WorkflowKey, set[str]] = {}  # executing, within the bound
        self._threads: dict[str, threading.Thread] = {}

    # --- the RunDispatcher port -------------------------------------------------------
    def submit(self, run_id: str) -> None:
        run = self._store.get_run(run_id)
        if run.status.is_final:
            return
        key = (run.namespace, run.workflow)
        entry = _Waiting(run.created_at, run_id, self._limit_of(run))
        with self._lock:
            if not self._accepting or self._is_known(run_id):
                return  # a stopped dispatcher leaves it queued for the next start
            if run.cancel_requested:
                self._launch(run_id, key, counted=False)
                return
            bisect.insort(self._waiting.setdefault(key, []), entry)
            self._start_what_fits(key)

    def cancel(self, run_id: str) -> None:
        run = self._driver.cancel(run_id)
        key = (run.namespace, run.workflow)
        with self._lock:
            waiting = self._waiting.get(key, [])
            entry = next((w for w in waiting if w.run_id == run_id), None)
            if entry is not None and self._accepting:
                waiting.remove(entry)
                self._launch(run_id, key, counted=False)

    # --- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        """Take up the runs a previous process left unfinished, without waiting for them:
        running ones re-attach to their containers at once, queued ones queue again."""
        self._sweep()
        unfinished = sorted(self._unfinished_runs(), key=lambda r: (r.created_at, r.id))
        with self._lock:
            for run in unfinished:
                if run.status is RunState.RUNNING and not self._is_known(run.id):
                    # Already holding containers: the bound cannot hold it back, only count it.
                    self._launch(run.id, (run.namespace, run.workflow), counted=True)
        for run in unfinished:
            if run.status is RunState.QUEUED:
                self.submit(run.id)

    def stop(self) -> None:
        """Take no new work: queued runs stay queued for the next start; runs executing
        carry on until the process exits, and their containers after that."""
        with self._lock:
            self._accepting = False

    def join(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for every executing run to end; True if they did."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            with self._lock:
                thread = next(iter(self._threads.values()), None)
            if thread is None:
                return True
            thread.join(remaining)
        with self._lock:
            return not self._threads

    def queued(self) -> list[str]:
        """Run ids waiting for a free place, oldest first per workflow."""
        with self._lock:
            return [w.run_id for waiting in self._waiting.values() for w in waiting]

    # --- inside the lock --------------------------------------------------------------
    def _is_known(self, run_id: str) -> bool:
        return run_id in self._threads or any(
            w.run_id == run_id for waiting in self._waiting.values() for w in waiting
        )

    def _start_what_fits(self, key: WorkflowKey) -> None:
        waiting = self._waiting.get(key, [])
        counted = self._counted.setdefault(key, set())
        while waiting and (waiting[0].limit is None or len(counted) < waiting[0].limit):
            entry = waiting.pop(0)
            waited = self._clock() - entry.created_at
            log.info("starting run %s (queued %.1fs)", entry.run_id, waited)
            self._launch(entry.run_id, key, counted=True)

    def _launch(self, run_id: str, key: WorkflowKey, *, counted: bool) -> None:
        if counted:
            self._counted.setdefault(key, set()).add(run_id)
        thread = threading.Thread(
            target=self._execute, args=(run_id, key), name=f"run-{run_id}", daemon=True
        )
        self._threads[run_id] = thread
        thread.start()

    # --- on a run's thread ------------------------------------------------------------
    def _execute(self, run_id: str, key: WorkflowKey) -> None:
        try:
            self._driver.execute(run_id)
        except ContainerOpsError as exc:  # e.g. another process executes it
            log.warning("run %s was not executed here: %s", run_id, exc)
        except Exception:
            if self._accepting:  # after stop() the store may be closed under a run
                log.exception("run %s stopped executing on an internal error", run_id)
        finally:
            self._sweep()  # e.g. what a killed process held ready for this run's later jobs
            with self._lock:
                self._threads.pop(run_id, None)
                self._counted.get(key, set()).discard(run_id)
                if self._accepting:
                    self._start_what_fits(key)

    def _sweep(self) -> None:
        try:
            self._driver.sweep_containers()
        except Exception as exc:  # tidying up must never stop the queue
            log.warning("could not remove spent containers: %s", exc)

    # --- reading the store ------------------------------------------------------------
    def _limit_of(self, run: RunRecord) -> int | None:
        pinned = self._store.get_workflow(run.namespace, run.workflow, run.workflow_version)
        return pinned.workflow.spec.concurrency

    def _unfinished_runs(self) -> Iterator[RunRecord]:
        cursor: str | None = None
        while True:
            page = self._store.list_runs(RunFilter(
                statuses=(RunState.QUEUED, RunState.RUNNING), limit=500, cursor=cursor,
            ))
            yield from page.runs
            if page.next_cursor is None:
                return
            cursor = page.next_cursor
