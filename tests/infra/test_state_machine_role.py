"""The state machines' role, grant by grant: job launches to the launch queue and, for a
fan-out job's Distributed Map, child executions of the stack's own machines (start, follow,
stop) and a read of the fan-out items the dispatcher writes under each run's prefix; and
the compiled machines ask for nothing more."""

from __future__ import annotations

from chalicelib.asl import Target, compile_workflow
from chalicelib.asl.render import GET_ITEMS, SEND_AND_WAIT
from chalicelib.domain.catalog import InMemoryCatalog
from tests.asl.conftest import all_states
from tests.builders import action, job, stage, workflow
from tests.infra.templates import Template, role_statements

PREFIX = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}"


def grants(template: Template) -> dict[str, tuple[set[str], list[object]]]:
    return {s.sid: (set(s.actions), s.resources) for s in role_statements(template, "StateMachineRole")}


def test_the_state_machines_may_send_launches_run_fan_out_children_and_read_their_items(
        merge_template: Template) -> None:
    assert grants(merge_template) == {
        "SendJobLaunches": ({"sqs:SendMessage"}, [{"Fn::GetAtt": ["LaunchQueue", "Arn"]}]),
        "StartFanOutInstances": ({"states:StartExecution"},
                                 [{"Fn::Sub": f"{PREFIX}:stateMachine:${{MachineNamePrefix}}-*"}]),
        "FollowFanOutInstances": ({"states:DescribeExecution", "states:StopExecution"},
                                  [{"Fn::Sub": f"{PREFIX}:execution:${{MachineNamePrefix}}-*/*"}]),
        "ReadFanOutItems": ({"s3:GetObject"}, [{"Fn::Sub": "${WorkspaceBucket.Arn}/runs/*/fanout/*"}]),
    }


def test_the_items_the_role_may_read_are_where_the_compiler_reads_them() -> None:
    target = Target("https://sqs.us-east-1.amazonaws.com/1/q", items_bucket="bucket")
    definition = compile_workflow(workflow(stage("s", action("a", job("test", shards=1000)))),
                                  InMemoryCatalog(), target).definition

    reader = definition["States"]["job test"]["ItemReader"]
    assert reader["Resource"] == GET_ITEMS
    assert reader["Parameters"]["Key.$"].startswith("States.Format('runs/{}/fanout/")


def test_the_compiled_states_call_nothing_but_the_launch_queue_and_the_item_reader() -> None:
    target = Target("https://sqs.us-east-1.amazonaws.com/1/q", items_bucket="bucket")
    jobs = [job("plain"), job("small", shards=3), job("large", shards=1000)]
    definition = compile_workflow(workflow(stage("s", action("a", *jobs))), InMemoryCatalog(),
                                  target).definition

    resources = {state["Resource"] for state in all_states(definition).values() if "Resource" in state}
    readers = {state["ItemReader"]["Resource"] for state in all_states(definition).values()
               if "ItemReader" in state}
    assert resources == {SEND_AND_WAIT}
    assert readers == {GET_ITEMS}
