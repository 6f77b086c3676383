"""Turns a container's output into stored log lines for one attempt.

Joins chunks into lines (cut at the line limit), masks secrets, reads `[COUT]` lines
into the attempt's outputs, and writes lines to the store in batches. Memory stays
bounded whatever the container prints: one line at most is held, a batch is flushed
at a size or a time, and past the per-attempt storage cap lines are counted, parsed
for `[COUT]`, and dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from chalicelib.domain.protocol import LineAssembler, OutputCollector
from chalicelib.engine.engine import SecretMasker
from chalicelib.engine.records import LogLine
from chalicelib.store.base import Store

DEFAULT_MAX_STORED_BYTES = 16 * 1024 * 1024
FLUSH_LINES = 500
FLUSH_SECONDS = 0.2


class LogWriter:
    def __init__(
        self,
        store: Store,
        run_id: str,
        job: str,
        attempt: int,
        masker: SecretMasker,
        collector: OutputCollector,
        *,
        next_seq: int = 1,
        stored_bytes: int = 0,
        max_stored_bytes: int = DEFAULT_MAX_STORED_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._key = (run_id, job, attempt)
        self._masker = masker
        self.collector = collector
        self._assembler = LineAssembler()
        self._next_seq = next_seq
        self._max_stored = max_stored_bytes
        self._clock = clock
        self._pending: list[LogLine] = []
        self._last_flush = clock()
        self.stored_bytes = stored_bytes
        self.truncated = stored_bytes >= max_stored_bytes
        self.skip_through: tuple[str, int] = ("", 0)

    def feed(self, source_time: str, data: bytes) -> None:
        for line in self._assembler.feed(source_time, data):
            self._accept(line.text, line.source_time)
        if self._pending and self._clock() - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def close(self) -> None:
        for line in self._assembler.flush():
            self._accept(line.text, line.source_time)
        self.flush()

    def note(self, text: str) -> None:
        """A line from ContainerOps itself (not the container), stored even past the cap."""
        self._append(f"[containerops] {text}", "", is_cout=False)
        self.flush()

    def flush(self) -> None:
        if self._pending:
            self._store.append_logs(self._pending)
            self._pending = []
        self._last_flush = self._clock()

    def _accept(self, text: str, source_time: str) -> None:
        if self._already_stored(source_time):
            return
        text = self._masker.mask(text)
        cout = self.collector.add_line(text)
        size = len(text.encode()) + 1
        if self.stored_bytes + size > self._max_stored:
            if not self.truncated:
                self.truncated = True
                self.note(
                    f"log limit of {self._max_stored} bytes reached: later lines are not stored "
                    "([COUT] lines are still read)"
                )
            return
        self.stored_bytes += size
        self._append(text, source_time, is_cout=cout is not None)
        if len(self._pending) >= FLUSH_LINES:
            self.flush()

    def _already_stored(self, source_time: str) -> bool:
        """After a re-attach, skip the lines the previous process already stored."""
        last_time, repeats = self.skip_through
        if not last_time or not source_time:
            return False
        if source_time < last_time:
            return True
        if source_time == last_time and repeats > 0:
            self.skip_through = (last_time, repeats - 1)
            return True
        self.skip_through = ("", 0)
        return False

    def _append(self, text: str, source_time: str, *, is_cout: bool) -> None:
        run_id, job, attempt = self._key
        self._pending.append(
            LogLine(run_id, job, attempt, self._next_seq, self._clock(), text, is_cout, source_time)
        )
        self._next_seq += 1
