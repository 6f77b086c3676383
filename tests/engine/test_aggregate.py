"""A fan-out job's outputs for later jobs: lists in files, inline when they fit (engine.aggregate)."""

from __future__ import annotations

import io
import json
import tracemalloc

from chalicelib.domain.protocol import MAX_OUTPUT_VALUE_BYTES
from chalicelib.domain.states import JobState
from chalicelib.engine.aggregate import aggregate_lists, too_large_reference
from chalicelib.engine.engine import RunContext
from chalicelib.engine.fanout import InstanceTally, aggregate_outputs, group_end
from chalicelib.engine.rules import FailJob, Launch, decide_ready_job
from tests.builders import action, catalog, job, stage, workflow
from tests.fakes.list_files import MemoryListFiles

COUNTED = {"CO_INSTANCES": "3", "CO_INSTANCES_SUCCEEDED": "2", "CO_INSTANCES_FAILED": "1",
           "CO_INSTANCES_SKIPPED": "0"}


class Discarding(io.StringIO):
    """A list file that keeps nothing but its size."""

    def __init__(self) -> None:
        super().__init__()
        self.size = 0

    def write(self, text: str) -> int:
        self.size += len(text)
        return len(text)


class DiscardingFiles:
    def __init__(self) -> None:
        self.files: dict[str, Discarding] = {}

    def open(self, relative_path: str) -> Discarding:
        self.files[relative_path] = Discarding()
        return self.files[relative_path]


def test_each_output_is_a_list_in_instance_order_with_null_in_its_file_and_inline() -> None:
    files = MemoryListFiles()
    aggregate = aggregate_lists("test", ["COUNT", "NAME"], 3, COUNTED,
                                [(0, {"COUNT": "7", "NAME": "a \"b\""}), (2, {"COUNT": "5"})], files)
    assert files.texts() == {".containerops/fanout/test/COUNT.json": '["7",null,"5"]',
                             ".containerops/fanout/test/NAME.json": '["a \\"b\\"",null,null]'}
    assert json.loads(aggregate.outputs["COUNT"]) == ["7", None, "5"]
    assert json.loads(aggregate.outputs["NAME"]) == ['a "b"', None, None]
    assert aggregate.outputs["CO_LISTS_DIR"] == "/workspace/.containerops/fanout/test"
    assert {key: aggregate.outputs[key] for key in COUNTED} == COUNTED
    assert aggregate.too_large == () and "CO_LISTS_TOO_LARGE" not in aggregate.outputs


def test_an_index_out_of_order_or_out_of_range_is_passed_over() -> None:
    files = MemoryListFiles()
    aggregate_lists("test", ["COUNT"], 3, COUNTED,
                    [(1, {"COUNT": "1"}), (0, {"COUNT": "0"}), (7, {"COUNT": "7"})], files)
    assert files.texts()[".containerops/fanout/test/COUNT.json"] == '[null,"1",null]'


def test_a_list_too_large_for_one_output_value_is_in_its_file_only_and_named() -> None:
    count = MAX_OUTPUT_VALUE_BYTES // 100 + 1
    files = MemoryListFiles()
    aggregate = aggregate_lists("test", ["LOG", "COUNT"], count, {"CO_INSTANCES": str(count)},
                                ((i, {"LOG": "x" * 100, "COUNT": "1"}) for i in range(count)), files)
    assert "LOG" not in aggregate.outputs
    assert json.loads(aggregate.outputs["COUNT"]) == ["1"] * count
    assert aggregate.too_large == ("LOG",) and aggregate.outputs["CO_LISTS_TOO_LARGE"] == "LOG"
    assert json.loads(files.texts()[".containerops/fanout/test/LOG.json"]) == ["x" * 100] * count


def test_a_list_that_just_fits_one_output_value_is_kept_inline() -> None:
    files = MemoryListFiles()
    value = "y" * (MAX_OUTPUT_VALUE_BYTES - len('[""]'))
    aggregate = aggregate_lists("test", ["BIG"], 1, {}, [(0, {"BIG": value})], files)
    assert len(aggregate.outputs["BIG"].encode()) == MAX_OUTPUT_VALUE_BYTES
    assert aggregate.too_large == ()


def test_a_list_that_would_pass_a_records_outputs_limit_is_in_its_file_only_taken_in_key_order() -> None:
    files = MemoryListFiles()
    aggregate = aggregate_lists("test", ["A", "B", "C"], 1, {},
                                [(0, {"A": "a" * 40, "B": "b" * 40, "C": "c"})],
                                files, value_limit=100, total_limit=120)
    assert "A" in aggregate.outputs and "C" in aggregate.outputs
    assert aggregate.too_large == ("B",)
    assert set(files.texts()) == {f".containerops/fanout/test/{key}.json" for key in "ABC"}


def test_a_group_with_no_outputs_to_list_writes_no_file_and_names_no_folder() -> None:
    files = MemoryListFiles()
    aggregate = aggregate_lists("test", [], 3, COUNTED, [(0, {"X": "1"})], files)
    assert files.opened == [] and aggregate.outputs == COUNTED


def test_a_list_too_large_does_not_fail_the_group() -> None:
    flow = workflow(stage("test", action("run", job("test", shards=2, outputs=["LOG"]))))
    files = MemoryListFiles()
    tally = InstanceTally(2, succeeded=2)
    aggregate = aggregate_outputs("test", ["LOG"], tally,
                                  [(0, {"LOG": "z" * MAX_OUTPUT_VALUE_BYTES}), (1, {})], files)
    end = group_end(flow.jobs()[0], tally, aggregate=aggregate)
    assert end is not None and end.state is JobState.SUCCEEDED
    assert end.outputs["CO_LISTS_TOO_LARGE"] == "LOG"


def test_a_job_reading_a_list_too_large_inline_fails_before_it_starts_saying_where_its_file_is() -> None:
    flow = workflow(stage("test", action("run", job("test", shards=2, outputs=["LOG", "COUNT"]))),
                    stage("sum", action("run", job("sum", data={"logs": "${{ jobs.test.outputs.LOG }}"}),
                                        job("count", data={"counts": "${{ jobs.test.outputs.COUNT }}",
                                                           "dir": "${{ jobs.test.outputs.CO_LISTS_DIR }}"}))))
    outputs = {"test": {"COUNT": '["1","2"]', "CO_INSTANCES": "2", "CO_LISTS_TOO_LARGE": "LOG",
                        "CO_LISTS_DIR": "/workspace/.containerops/fanout/test"}}
    context = RunContext("run-1", outputs=outputs)
    _, sum_job, count_job = flow.jobs()
    failed = decide_ready_job(flow, sum_job, catalog(), context, {})
    assert isinstance(failed, FailJob)
    assert failed.reason == (
        "output LOG of job 'test' is the list of its 2 instances, too large to be an output value "
        f"({MAX_OUTPUT_VALUE_BYTES:,} bytes); it is in the workspace as "
        "/workspace/.containerops/fanout/test/LOG.json (${{ jobs.test.outputs.CO_LISTS_DIR }}/LOG.json)")
    launched = decide_ready_job(flow, count_job, catalog(), context, {})
    assert isinstance(launched, Launch)
    assert launched.plan.data == {"counts": '["1","2"]', "dir": "/workspace/.containerops/fanout/test"}


def test_the_lists_of_ten_thousand_instances_are_streamed_not_held() -> None:
    count, value = 10_000, "v" * 1000  # 10 MB of list text per output
    files = DiscardingFiles()
    tracemalloc.start()
    try:
        aggregate = aggregate_lists("test", ["A", "B"], count, {"CO_INSTANCES": str(count)},
                                    ((i, {"A": value, "B": value}) for i in range(count)), files)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert files.files[".containerops/fanout/test/A.json"].size == count * (len(value) + 3) + 1
    assert aggregate.too_large == ("A", "B")
    assert peak < 1_000_000, f"the aggregate held {peak:,} bytes at its peak"


def test_the_reason_for_a_list_too_large_counts_its_instances_as_people_read_numbers() -> None:
    reason = too_large_reference("test", "K", {"CO_INSTANCES": "10000", "CO_LISTS_TOO_LARGE": "J,K"})
    assert reason is not None
    assert reason.startswith("output K of job 'test' is the list of its 10,000 instances")
    assert too_large_reference("test", "TESTS", {"CO_LISTS_TOO_LARGE": "K"}) is None
