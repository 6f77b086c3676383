"""`[COUT]` lines are read as the protocol's plain definition reads them, whatever the line:
`parse_cout` (which skips work a line does not need) and `OutputCollector` (which keeps the
outputs' total size up to date rather than summing it again) against that definition."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from chalicelib.domain.protocol import (
    COUT_MARKER,
    MAX_OUTPUT_VALUE_BYTES,
    MAX_OUTPUTS_BYTES,
    RESULT_KEY,
    OutputCollector,
    parse_cout,
)

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LEGACY = re.compile(r"^(CO_[A-Z0-9_]+)\s+(\S.*)$", re.DOTALL)


def defined_reading(line: str) -> tuple[str | None, str, str] | None:
    """The protocol's definition of a `[COUT]` line: (key, value, message)."""
    index = line.find(COUT_MARKER)
    if index < 0:
        return None
    payload = ANSI.sub("", line[index + len(COUT_MARKER):]).strip()
    key, sep, value = payload.partition("=")
    key = key.strip()
    if sep and key and not any(ch.isspace() for ch in key):
        return key, value.strip(), ""
    legacy = LEGACY.match(payload)
    if legacy:
        return legacy.group(1), legacy.group(2).strip(), ""
    return None, "", payload


PIECES = st.sampled_from(["[COUT]", "[COUT] ", " = ", "=", "KEY", "my-key", "CO_RESULT", "CO_XML",
                          "true", "\x1b[32m", "\x1b[0m", "\x1b", " ", "\t", "\u2003", "\x1c", "é",
                          "k\u00a0ey", "_1"])
LINE = st.lists(st.one_of(PIECES, st.text(max_size=6)), max_size=10).map("".join)


@settings(max_examples=1000)
@given(LINE)
@example("[COUT] k\u2003ey = v")
@example("[COUT] \x1c = v")
@example("[COUT] ke\x1by = v")
def test_a_line_is_read_as_the_protocol_defines_it(line: str) -> None:
    cout = parse_cout(line)
    assert (None if cout is None else tuple(cout)) == defined_reading(line)


def defined_collection(start: dict[str, str], lines: list[str]) -> tuple[dict[str, str], bool | None, str]:
    """What the protocol's definition collects from lines after the outputs `start`: the
    outputs, the result, the first violation."""
    outputs = dict(start)
    result: bool | None = None
    violation = ""
    for line in lines:
        reading = defined_reading(line)
        if reading is None or reading[0] is None:
            continue
        key, value, _ = reading
        if key.upper() == RESULT_KEY:
            result = value.lower() == "true"
            continue
        size = len(value.encode())
        if size > MAX_OUTPUT_VALUE_BYTES:
            violation = violation or (f"output {key} is {size} bytes; one output may hold at"
                                      f" most {MAX_OUTPUT_VALUE_BYTES} bytes")
            continue
        others = sum(len(v.encode()) for k, v in outputs.items() if k != key)
        if others + size > MAX_OUTPUTS_BYTES:
            violation = violation or f"outputs exceed {MAX_OUTPUTS_BYTES} bytes in all at {key}"
            continue
        outputs[key] = value
    return outputs, result, violation


OUTPUT_LINE = st.builds(
    lambda key, unit, count: f"[COUT] {key} = {unit * count}",
    st.sampled_from(["A", "B", "C", "D", "CO_RESULT"]), st.sampled_from(["x", "é", "😀", "true"]),
    st.integers(0, MAX_OUTPUT_VALUE_BYTES // 2 + 10))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["A", "E"]), st.text(max_size=5), max_size=2),
       st.lists(st.one_of(OUTPUT_LINE, LINE), max_size=40))
def test_outputs_and_their_limits_are_collected_as_the_protocol_defines_them(
    start: dict[str, str], lines: list[str]
) -> None:
    collector = OutputCollector(dict(start))
    for line in lines:
        collector.add_line(line)
    expected = defined_collection(start, lines)
    assert (collector.outputs, collector.reported_result, collector.violation) == expected
    assert collector.total_bytes() == sum(len(v.encode()) for v in collector.outputs.values())
