"""Turns a container's output into stored log lines for one attempt, on the local driver.

Joins each stream's chunks into lines (cut at the line limit), hands each line to the
engine's ingest policy (`engine.ingest`: mask, read `[COUT]`, cap) and writes what it keeps
to the log sink in batches. With each batch it reports how far the stored output reaches
(bytes of each stream, and the ingest state), in one unit of work with the batch (`atomic`:
the local logs and records are one SQLite file), so a restarted driver re-attaches without
repeating or losing a line, even after a kill between the two. Memory stays bounded whatever
the container prints: one line per stream at most is held, a batch is flushed at a size or a
time, and past the per-attempt storage cap lines are only read. A line is stored within
FLUSH_SECONDS of its arrival even when the container then falls silent (a timer flushes it),
so followers see live output.

Lines are stored in the order they end, each marked with the stream it came from. That order
is the container's own only when its output arrives in write order: the engine interleaves
stdout and stderr by scheduling, so local containers run under the output relay
(`launch/docker_relay.py`), which hands them on in the order the job wrote them; nothing
here reorders anything.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from chalicelib.domain.protocol import AssembledLine, LineAssembler
from chalicelib.engine.ingest import DEFAULT_MAX_STORED_BYTES, Kept, LogIngest, note
from chalicelib.launch.base import NO_OFFSETS, StreamName, StreamOffsets
from chalicelib.logs.base import LogEntry, LogSink

__all__ = ["DEFAULT_MAX_STORED_BYTES", "LogWriter"]

FLUSH_LINES = 500
FLUSH_SECONDS = 0.2

Progress = Callable[["LogWriter"], None]


class LogWriter:
    def __init__(
        self,
        sink: LogSink,
        run_id: str,
        job: str,
        attempt: int,
        ingest: LogIngest,
        *,
        consumed: StreamOffsets = NO_OFFSETS,
        on_flush: Progress = lambda writer: None,
        atomic: Callable[[], AbstractContextManager[object]] = nullcontext,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sink = sink
        self._key = (run_id, job, attempt)
        self.ingest = ingest
        self._assemblers: dict[StreamName, LineAssembler] = {
            "stdout": LineAssembler(), "stderr": LineAssembler(),
        }
        self._consumed = {"stdout": consumed.stdout, "stderr": consumed.stderr}
        self._on_flush = on_flush
        self._atomic = atomic
        self._clock = clock
        self._pending: list[LogEntry] = []
        self._last_flush = clock()
        self._lock = threading.RLock()  # the reader thread and the flush timer
        self._timer: threading.Timer | None = None

    @property
    def consumed(self) -> StreamOffsets:
        """Bytes of each stream whose lines are read (stored, or past the cap)."""
        return StreamOffsets(self._consumed["stdout"], self._consumed["stderr"])

    def feed(self, stream: StreamName, source_time: str, data: bytes) -> None:
        with self._lock:
            for line in self._assemblers[stream].feed(source_time, data):
                self._accept(stream, line)
            if not self._pending:
                return
            waited = self._clock() - self._last_flush
            if waited >= FLUSH_SECONDS:
                self.flush()
            elif self._timer is None:
                self._timer = threading.Timer(FLUSH_SECONDS - waited, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def close(self) -> None:
        with self._lock:
            for stream, assembler in self._assemblers.items():
                for line in assembler.flush():
                    self._accept(stream, line)
            self.flush()

    def note(self, text: str) -> None:
        """A line from ContainerOps itself (not the container), stored even past the cap."""
        with self._lock:
            self._keep(note(text), "", "")
            self.flush()

    def flush(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._pending:
                with self._atomic():  # the lines and the progress that counts them: both or neither
                    self._sink.append_logs(*self._key, self._pending)
                    self._on_flush(self)
                self._pending = []
            self._last_flush = self._clock()

    def _accept(self, stream: StreamName, line: AssembledLine) -> None:
        self._consumed[stream] += line.raw_bytes
        kept = self.ingest.accept(line.text)
        for one in kept:
            self._keep(one, line.source_time, stream)
        if any(one.is_note for one in kept):
            self.flush()  # the cap's note is stored at once, like any note
        elif len(self._pending) >= FLUSH_LINES:
            self.flush()

    def _keep(self, kept: Kept, source_time: str, stream: str) -> None:
        if kept.is_note:  # ContainerOps's words, not the container's
            source_time, stream = "", ""
        self._pending.append(LogEntry(self._clock(), kept.text, kept.is_cout, source_time, stream))
