"""The output relay of local containers: the job's stdout and stderr in the order it wrote them.

The Docker engine copies a container's two streams through separate pipes and goroutines, so
their relative order is lost before any byte reaches ContainerOps (moby/moby#31706; measured
here: the example `failing` job's `error:` line came out first, second or fourth). The only
place that order exists is the container, at the moment of each write, so `DockerLauncher`
runs the job's command under `co-relay` (tools/co-relay/co-relay.c; `make relay` builds it
into .build/co-relay), a static binary mounted read-only as the entrypoint, which writes the
job's two streams to its own stdout as one sequence of tagged records in write order. This
module finds that binary, builds the wrapped command line, and turns the records back into
`OutputChunk`s of the job's two streams (`RecordDecoder`): a reader downstream (the log
writer, the sandbox's log shipper) sees the same stdout and stderr bytes as without the relay,
only in the right order.

Records, one per line of the relay's stdout: `o` + text for text that ended a stdout line,
`O` + text for text that did not (the line goes on in the next record), `e` and `E` for
stderr. Anything else on the relay's stdout (only a process that bypassed the relay could put
it there) is passed on as stdout text; the relay's own stderr (its words when the command
cannot be executed) is passed on as stderr. Memory stays bounded: a "record" is at most a
page from the relay, and anything longer than `MAX_RECORD_BYTES` without a newline is passed
on as it stands.

Without the binary (no C compiler when the project was built), containers run as before and
the two streams' order is the engine's: `find_relay` returns None and the launcher logs once
why.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from chalicelib.launch.base import OutputChunk, StreamName
from chalicelib.launch.docker_gate import is_static_executable

RELAY_MOUNT = "/.containerops/relay"
RELAY_LABEL = "containerops.relay"  # on containers whose output is the relay's records
# Where `make relay` puts the binary: the checkout's build folder.
BUILT_RELAY = Path(__file__).resolve().parents[2] / ".build" / "co-relay"
MAX_RECORD_BYTES = 64 * 1024

_ENDED: dict[int, tuple[StreamName, bool]] = {
    ord("o"): ("stdout", True), ord("O"): ("stdout", False),
    ord("e"): ("stderr", True), ord("E"): ("stderr", False),
}


def find_relay(candidate: Path = BUILT_RELAY) -> str | None:
    """The relay binary when it is built (a static executable), else None."""
    return str(candidate) if is_static_executable(candidate) else None


def relay_entrypoint(command: list[str]) -> list[str]:
    """The container's entrypoint that runs `command` (the whole argv) under the relay."""
    return [RELAY_MOUNT, "--", *command]


def is_relayed(labels: dict[str, str]) -> bool:
    return labels.get(RELAY_LABEL) == "true"


class RecordDecoder:
    """The relay's output, as the engine delivers it in chunks, back into the job's streams.

    Stateful across chunks (a record may be cut anywhere by the engine's framing); chunks of
    the same stream that follow each other within one engine chunk are joined, so a noisy job
    costs one chunk per engine read rather than one per line.
    """

    def __init__(self) -> None:
        self._partial = b""  # the start of a record whose newline has not arrived

    def feed(self, chunk: OutputChunk) -> Iterator[OutputChunk]:
        if chunk.stream == "stderr":  # the relay's own words
            yield chunk
            return
        data = self._partial + chunk.data if self._partial else chunk.data
        *records, rest = data.split(b"\n")
        if len(rest) > MAX_RECORD_BYTES:
            records.append(rest)
            rest = b""
        self._partial = rest
        yield from _joined(chunk.source_time, records)

    def finish(self) -> Iterator[OutputChunk]:
        """What is left when the output ends: a record the relay never finished (it was
        killed mid-write), passed on as the text it holds."""
        if self._partial:
            rest, self._partial = self._partial, b""
            yield from _joined("", [rest], last_ends=False)


def decoded(chunks: Iterable[OutputChunk]) -> Iterator[OutputChunk]:
    """The job's streams from the relay's output."""
    decoder = RecordDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.finish()


def _joined(source_time: str, records: list[bytes], last_ends: bool = True) -> Iterator[OutputChunk]:
    stream: StreamName | None = None
    pieces: list[bytes] = []
    for index, record in enumerate(records):
        kind = _ENDED.get(record[0]) if record else None
        if kind is None:  # not a record: passed on as a line of stdout
            record_stream: StreamName = "stdout"
            text = record + b"\n" if last_ends or index < len(records) - 1 else record
        else:
            record_stream, ended = kind
            text = record[1:] + b"\n" if ended else record[1:]
        if record_stream != stream and pieces:
            yield OutputChunk(source_time, b"".join(pieces), stream or "stdout")
            pieces = []
        stream = record_stream
        pieces.append(text)
    if pieces:
        yield OutputChunk(source_time, b"".join(pieces), stream or "stdout")
