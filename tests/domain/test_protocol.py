"""The component protocol (DESIGN §1): CO_DATA in, `[COUT]` lines out, the result rule, limits."""

from __future__ import annotations

import json
import shlex
import tracemalloc

import pytest

from chalicelib.domain.protocol import (
    MAX_LINE_BYTES,
    MAX_OUTPUT_VALUE_BYTES,
    MAX_OUTPUTS_BYTES,
    TRUNCATION_MARK,
    CoutLine,
    LineAssembler,
    OutputCollector,
    data_variables,
    decode_pairs,
    encode_data,
    judge,
    parse_cout,
    variable_for_key,
)

# --- input ------------------------------------------------------------------------------


def test_pairs_encoding_is_space_separated_key_value_pairs() -> None:
    assert encode_data({"git-url": "https://x.org/y.git", "version": "py3k"}) == (
        "git-url=https://x.org/y.git version=py3k"
    )


def test_pairs_encoding_quotes_values_with_spaces_and_quotes_the_shell_way() -> None:
    data = {"message": "all green now", "quote": 'it\'s "fine"', "empty": "", "eq": "a=b"}
    encoded = encode_data(data)
    assert "message='all green now'" in encoded
    assert decode_pairs(encoded) == data
    assert dict(word.split("=", 1) for word in shlex.split(encoded)) == data


def test_pairs_encoding_keeps_simple_values_unquoted_for_components_that_split_on_spaces() -> None:
    assert encode_data({"a": "1", "b": "x.y/z:8080"}).split(" ") == ["a=1", "b=x.y/z:8080"]


def test_json_encoding_is_one_compact_object() -> None:
    encoded = encode_data({"b": "two words", "a": "1"}, "json")
    assert json.loads(encoded) == {"a": "1", "b": "two words"}
    assert " " not in encoded.replace("two words", "")


def test_empty_data_encodes_to_empty_text_or_empty_object() -> None:
    assert encode_data({}) == ""
    assert encode_data({}, "json") == "{}"


def test_decode_pairs_ignores_words_without_equals() -> None:
    assert decode_pairs("a=1 stray b='x y'") == {"a": "1", "b": "x y"}


@pytest.mark.parametrize(
    ("key", "variable"),
    [("git-url", "CO_GIT_URL"), ("version", "CO_VERSION"), ("Entry_Path", "CO_ENTRY_PATH")],
)
def test_each_key_has_an_upper_case_co_variable(key: str, variable: str) -> None:
    assert variable_for_key(key) == variable


def test_data_variables_carry_every_key() -> None:
    assert data_variables({"git-url": "u", "version": "v"}) == {
        "CO_GIT_URL": "u",
        "CO_VERSION": "v",
    }


@pytest.mark.parametrize("key", ["data", "result", "run-id", "run_id", "job", "attempt", "RESULT"])
def test_data_variables_never_set_a_reserved_name(key: str) -> None:
    assert data_variables({key: "sneaky", "ok": "1"}) == {"CO_OK": "1"}


# --- [COUT] lines -----------------------------------------------------------------------


def test_line_without_marker_is_not_a_cout_line() -> None:
    assert parse_cout("building... KEY=VALUE") is None


@pytest.mark.parametrize(
    "line", ["[COUT] KEY=VALUE", "[COUT] KEY = VALUE", "[COUT]   KEY  =  VALUE  "]
)
def test_key_and_value_are_trimmed_with_or_without_spaces_around_equals(line: str) -> None:
    assert parse_cout(line) == CoutLine(key="KEY", value="VALUE")


def test_value_is_split_on_the_first_equals_only() -> None:
    assert parse_cout("[COUT] URL = https://x.org/?a=1&b=2") == CoutLine(
        key="URL", value="https://x.org/?a=1&b=2"
    )


def test_marker_may_appear_after_a_prefix_such_as_a_timestamp() -> None:
    assert parse_cout("2024-01-01T00:00:00Z INFO [COUT] IMAGE=demo/app:1") == CoutLine(
        key="IMAGE", value="demo/app:1"
    )


def test_empty_value_is_an_output() -> None:
    assert parse_cout("[COUT] EMPTY=") == CoutLine(key="EMPTY", value="")


@pytest.mark.parametrize(
    "line", ["[COUT] tests started", "[COUT] a message = with equals", "[COUT]"]
)
def test_cout_line_without_a_key_is_a_message(line: str) -> None:
    cout = parse_cout(line)
    assert cout is not None
    assert cout.key is None
    assert cout.message == line.removeprefix("[COUT]").strip()


def test_legacy_form_with_a_space_instead_of_equals_is_an_output() -> None:
    assert parse_cout('[COUT] CO_XML_CONTENT <xml a="1"/>') == CoutLine(
        key="CO_XML_CONTENT", value='<xml a="1"/>'
    )


def test_ansi_colour_codes_are_stripped() -> None:
    line = "\x1b[32m[COUT]\x1b[0m \x1b[1mCOVERAGE\x1b[0m = \x1b[33m87%\x1b[0m"
    assert parse_cout(line) == CoutLine(key="COVERAGE", value="87%")


# --- collecting outputs -----------------------------------------------------------------


def collect(*lines: str) -> OutputCollector:
    collector = OutputCollector()
    for line in lines:
        collector.add_line(line)
    return collector


def test_collector_keeps_outputs_and_ignores_other_lines() -> None:
    collector = collect("compiling", "[COUT] IMAGE=demo/app:1", "[COUT] done", "[COUT] TAG = v1")
    assert collector.outputs == {"IMAGE": "demo/app:1", "TAG": "v1"}
    assert collector.reported_result is None
    assert collector.violation == ""


def test_last_value_for_a_key_wins() -> None:
    assert collect("[COUT] TAG=v1", "[COUT] TAG=v2").outputs == {"TAG": "v2"}


@pytest.mark.parametrize(
    ("line", "result"),
    [
        ("[COUT] CO_RESULT = true", True),
        ("[COUT] CO_RESULT=TRUE", True),
        ("[COUT] co_result = True", True),
        ("[COUT] CO_RESULT = false", False),
        ("[COUT] CO_RESULT=FALSE", False),
    ],
)
def test_result_line_is_case_insensitive(line: str, result: bool) -> None:
    collector = collect(line)
    assert collector.reported_result is result
    assert collector.outputs == {}


def test_last_result_line_wins() -> None:
    assert collect("[COUT] CO_RESULT=false", "[COUT] CO_RESULT=true").reported_result is True


def test_value_over_32_kib_is_a_violation_and_not_kept() -> None:
    collector = collect("[COUT] SMALL=1", "[COUT] BIG=" + "x" * (MAX_OUTPUT_VALUE_BYTES + 1))
    assert collector.outputs == {"SMALL": "1"}
    assert "BIG" in collector.violation
    assert str(MAX_OUTPUT_VALUE_BYTES) in collector.violation


def test_value_of_exactly_32_kib_is_accepted() -> None:
    collector = collect("[COUT] EDGE=" + "x" * MAX_OUTPUT_VALUE_BYTES)
    assert collector.violation == ""
    assert len(collector.outputs["EDGE"]) == MAX_OUTPUT_VALUE_BYTES


def test_value_size_counts_bytes_not_characters() -> None:
    collector = collect("[COUT] WIDE=" + "é" * (MAX_OUTPUT_VALUE_BYTES // 2 + 1))
    assert collector.outputs == {}
    assert "WIDE" in collector.violation


def test_outputs_over_256_kib_in_all_are_a_violation() -> None:
    chunk = "x" * MAX_OUTPUT_VALUE_BYTES
    lines = [f"[COUT] K{i}={chunk}" for i in range(MAX_OUTPUTS_BYTES // MAX_OUTPUT_VALUE_BYTES + 1)]
    collector = collect(*lines)
    assert collector.total_bytes() <= MAX_OUTPUTS_BYTES
    assert "K8" not in collector.outputs
    assert collector.violation.startswith(f"outputs exceed {MAX_OUTPUTS_BYTES} bytes")


def test_replacing_a_value_does_not_count_the_old_value_towards_the_total() -> None:
    chunk = "x" * MAX_OUTPUT_VALUE_BYTES
    lines = [f"[COUT] SAME={chunk}" for _ in range(20)]
    collector = collect(*lines)
    assert collector.violation == ""
    assert collector.total_bytes() == MAX_OUTPUT_VALUE_BYTES


def test_first_violation_is_the_one_reported() -> None:
    too_big = "x" * (MAX_OUTPUT_VALUE_BYTES + 1)
    collector = collect(f"[COUT] FIRST={too_big}", f"[COUT] SECOND={too_big}")
    assert "FIRST" in collector.violation
    assert "SECOND" not in collector.violation


# --- the result rule --------------------------------------------------------------------


def test_exit_zero_without_result_line_succeeds() -> None:
    assert judge(0, None).succeeded


def test_exit_zero_with_result_true_succeeds() -> None:
    verdict = judge(0, True)
    assert verdict.succeeded
    assert verdict.reason == ""


def test_exit_zero_with_result_false_fails() -> None:
    verdict = judge(0, False)
    assert not verdict.succeeded
    assert verdict.reason == "component reported CO_RESULT = false"


@pytest.mark.parametrize("reported", [None, True, False])
def test_non_zero_exit_always_fails_whatever_was_printed(reported: bool | None) -> None:
    verdict = judge(3, reported)
    assert not verdict.succeeded
    assert verdict.reason.startswith("container exited with code 3")


def test_non_zero_exit_after_result_true_says_so() -> None:
    assert judge(1, True).reason == "container exited with code 1 after reporting CO_RESULT = true"


def test_strict_result_fails_when_no_result_line_was_printed() -> None:
    verdict = judge(0, None, strict_result=True)
    assert not verdict.succeeded
    assert "strict_result" in verdict.reason
    assert judge(0, True, strict_result=True).succeeded


def test_limit_violation_fails_an_otherwise_successful_job() -> None:
    verdict = judge(0, True, limit_violation="output X is too big")
    assert verdict == judge(0, None, limit_violation="output X is too big")
    assert not verdict.succeeded
    assert verdict.reason == "output X is too big"


# --- assembling lines -------------------------------------------------------------------


def lines_of(assembler: LineAssembler, *chunks: bytes, flush: bool = True) -> list[str]:
    texts = [line.text for chunk in chunks for line in assembler.feed("t", chunk)]
    if flush:
        texts += [line.text for line in assembler.flush()]
    return texts


def test_chunks_are_split_into_lines() -> None:
    assert lines_of(LineAssembler(), b"one\ntwo\nthree\n") == ["one", "two", "three"]


def test_a_line_split_across_chunks_is_joined() -> None:
    assert lines_of(LineAssembler(), b"[CO", b"UT] KEY", b"=VALUE\nnext", b"\n") == [
        "[COUT] KEY=VALUE",
        "next",
    ]


def test_crlf_line_endings_are_removed() -> None:
    assert lines_of(LineAssembler(), b"a\r\nb\r", b"\nc\r\n") == ["a", "b", "c"]


def test_empty_lines_are_kept() -> None:
    assert lines_of(LineAssembler(), b"a\n\nb\n") == ["a", "", "b"]


def test_last_line_without_newline_is_emitted_only_on_flush() -> None:
    assembler = LineAssembler()
    assert lines_of(assembler, b"done\npartial", flush=False) == ["done"]
    assert [line.text for line in assembler.flush()] == ["partial"]
    assert list(assembler.flush()) == []


def test_line_keeps_the_time_of_its_first_chunk() -> None:
    assembler = LineAssembler()
    assert list(assembler.feed("t1", b"hel")) == []
    first, second = [*assembler.feed("t2", b"lo\nworld\n")]
    assert (first.text, first.source_time) == ("hello", "t1")
    assert (second.text, second.source_time) == ("world", "t2")


def test_multibyte_character_split_across_chunks_is_decoded_whole() -> None:
    encoded = "café\n".encode()
    assert lines_of(LineAssembler(), encoded[:4], encoded[4:]) == ["café"]


def test_ten_megabyte_line_is_cut_at_64_kib_and_marked() -> None:
    assembler = LineAssembler()
    chunk = b"x" * (1024 * 1024)
    tracemalloc.start()
    try:
        produced = [line for _ in range(10) for line in assembler.feed("t", chunk)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert produced == []
    assert peak < 3 * len(chunk)  # the 10 MB are never held at once
    line, after = assembler.feed("t", b"\nafter\n")
    assert line.truncated
    assert line.text == "x" * MAX_LINE_BYTES + TRUNCATION_MARK
    assert (after.text, after.truncated) == ("after", False)
    assert list(assembler.flush()) == []


def test_line_after_a_truncated_one_is_whole_and_unmarked() -> None:
    assembler = LineAssembler(max_line_bytes=4)
    lines = [*assembler.feed("t", b"abcdefgh\nok\n")]
    assert [(line.text, line.truncated) for line in lines] == [
        ("abcd" + TRUNCATION_MARK, True),
        ("ok", False),
    ]


def test_line_of_exactly_the_limit_is_not_marked() -> None:
    [line] = LineAssembler(max_line_bytes=4).feed("t", b"abcd\n")
    assert (line.text, line.truncated) == ("abcd", False)


def test_truncated_last_line_is_flushed_with_its_mark() -> None:
    assembler = LineAssembler(max_line_bytes=3)
    assert lines_of(assembler, b"abcdef") == ["abc" + TRUNCATION_MARK]
