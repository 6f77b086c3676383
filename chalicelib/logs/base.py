"""Where the lines of job attempts are kept, and how they are read back: `LogSink` and
`LogSource`, independent of the place.

Implementations: the SQLite store (embedded; `chalicelib/store/sqlite.py` keeps log lines
in the same file as the runs) and CloudWatch Logs (aws mode: the container writes its
stream itself, ContainerOps adds its own notes, readers mask on the way out). Both pass the
contract suite in `tests/logs/contract.py`.

Rules every implementation keeps:

- a sink numbers the lines it stores (`seq`, from 1, one after another per attempt), so two
  writers appending to the same attempt never take the same number or lose a line;
- a source reads an attempt's lines in `seq` order after a position. A position is the last
  `seq` a reader has plus an opaque `token` that only the source that made it understands
  (empty for sources that need none); a reader that has only the `seq` still gets exactly
  the lines after it, perhaps more slowly;
- lines come out masked (secrets) and cut (64 KiB): stored that way, or treated that way
  on the way out.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from chalicelib.engine.records import LogLine


class LogEntry(NamedTuple):
    """A line to append to an attempt's log; the sink gives it its `seq`."""

    time: float
    text: str
    is_cout: bool = False
    source_time: str = ""  # the container engine's own timestamp, if it gave one
    stream: str = ""  # "stdout", "stderr", or "" (a note; see LogLine.stream)


@dataclass(frozen=True)
class LogPosition:
    """Where a reader stands in an attempt's log: after line `seq`."""

    seq: int = 0
    token: str = ""  # opaque: made by the source, given back unchanged


LOG_START = LogPosition()


@dataclass(frozen=True)
class LogBatch:
    lines: list[LogLine]
    position: LogPosition  # after the last line of the batch (or where the read started)


class LogSink(ABC):
    @abstractmethod
    def append_logs(
        self, run_id: str, job: str, attempt: int, entries: Sequence[LogEntry]
    ) -> list[LogLine]:
        """Store `entries` after the attempt's last line, in order, as one step; the lines as
        stored (numbered). Appending nothing stores nothing."""


class LogSource(ABC):
    @abstractmethod
    def read_log_batch(
        self, run_id: str, job: str, attempt: int, after: LogPosition = LOG_START,
        limit: int = 1000,
    ) -> LogBatch:
        """Up to `limit` lines after `after`, in order (at most the source's own page limit)."""

    def read_logs(
        self, run_id: str, job: str, attempt: int, after_seq: int = 0, limit: int = 1000
    ) -> list[LogLine]:
        return self.read_log_batch(run_id, job, attempt, LogPosition(after_seq), limit).lines

    @abstractmethod
    def last_log_line(self, run_id: str, job: str, attempt: int) -> LogLine | None: ...


class LogStore(LogSink, LogSource, ABC):
    """Both sides of one place."""


def entries_of(lines: Sequence[LogLine]) -> list[LogEntry]:
    """The entries that stored `lines` (to append lines read elsewhere, renumbered)."""
    return [LogEntry(line.time, line.text, line.is_cout, line.source_time, line.stream)
            for line in lines]
