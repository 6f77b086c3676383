"""What a reader is shown of a raw log stream that nothing of ours filtered on the way in.

In aws mode the container writes its stream itself, so what the local path applies on the
way in (`protocol.LineAssembler`'s cut at MAX_LINE_BYTES, then `engine.ingest`: mask the
run's secrets, read `[COUT]`, stop at the per-attempt cap with one note) is applied here,
on the way out, event by event in stream order, with the same results line for line.
`ReadState` is everything a reader must remember to go on from a point of the stream
without reading it again from the head: it is what a position token carries. Pure code:
no boto3, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from chalicelib.domain.protocol import parse_cout
from chalicelib.engine.engine import SecretMasker
from chalicelib.engine.ingest import NOTE_PREFIX, cap_note_text, cut_line
from chalicelib.engine.records import LogLine

AttemptKey = tuple[str, str, int]  # run id, job, attempt number


def cap_note(max_bytes: int) -> str:
    """The line that takes the place of everything past the cap: `LogIngest`'s words."""
    return NOTE_PREFIX + cap_note_text(max_bytes)


@dataclass(frozen=True)
class ReadState:
    """A reader's standing after some events of a stream, before any event after them."""

    seq: int = 0             # lines shown so far (the cap note is one)
    shown_bytes: int = 0     # of the lines shown, counted as the local cap counts them
    last_ms: int = 0         # the latest event timestamp read (ms)
    capped: bool = False     # the cap note was shown: nothing after it is
    token: str = ""          # CloudWatch's forward token after the events read; "" = the head


STREAM_HEAD = ReadState()


class LineView:
    """Turns the events of one attempt's stream into the lines its readers see."""

    def __init__(self, key: AttemptKey, masker: SecretMasker, max_shown_bytes: int) -> None:
        self._key = key
        self._masker = masker
        self._max = max_shown_bytes

    def text(self, message: str) -> str:
        # Cut first, then mask: the local order, so a secret across the cut is masked alike.
        return self._masker.mask(cut_line(message))

    def line(self, seq: int, timestamp_ms: int, message: str) -> LogLine:
        """The line shown for an event, the cap aside."""
        text = self.text(message)
        return LogLine(*self._key, seq, timestamp_ms / 1000, text, parse_cout(text) is not None, "")

    def advance(self, state: ReadState, timestamp_ms: int, message: str) -> tuple[ReadState, LogLine | None]:
        """The state after one more event, and the line it shows (None past the cap)."""
        read = replace(state, last_ms=max(state.last_ms, timestamp_ms))
        if state.capped:
            return read, None
        line = self.line(state.seq + 1, timestamp_ms, message)
        size = len(line.text.encode()) + 1
        if state.shown_bytes + size > self._max:
            note = LogLine(*self._key, state.seq + 1, timestamp_ms / 1000, cap_note(self._max),
                           False, "")
            return replace(read, seq=note.seq, capped=True), note
        return replace(read, seq=line.seq, shown_bytes=state.shown_bytes + size), line
