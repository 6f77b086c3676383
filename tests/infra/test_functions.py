"""Every Lambda function of the app as deployed (the packaged template): the API and the run
engine's handlers each run the aws backend with every variable it reads, set in one
place; each runs as a role of its own that may do exactly what its handler calls, and
writes its own logs to a log group of its own that expires."""

from __future__ import annotations

import pytest

import app
from chalicelib.config import (
    AWS_VARIABLES,
    BACKEND_VARIABLE,
    DEFAULT_PLATFORM_VARIABLE,
    EKS_CLUSTER_VARIABLE,
    EKS_NAMESPACE_VARIABLE,
    Backend,
)
from tests.infra.templates import (
    ROLE,
    Template,
    function_environment,
    function_role,
    functions,
    global_environment,
    log_group_of,
    own_environment,
    referenced_resources,
    role_statements,
    statements,
)

# Each function's logical id (Chalice's) and handler in app.py.
FUNCTIONS = {
    "APIHandler": "app.app",
    "LaunchJobs": "app.launch_jobs",
    "IngestLogs": "app.ingest_logs",
    "TaskStopped": "app.task_stopped",
    "ExecutionEnded": "app.execution_ended",
    "SweepRunningJobs": "app.sweep_running_jobs",
    "ObjectCreated": "app.object_created",
    "ReferenceChanged": "app.reference_changed",
    "StartScheduledRuns": "app.start_scheduled_runs",
    "ApiToken": "app.api_token",
    "CheckEksJobs": "app.check_eks_jobs",
}
# The platform settings every function reads beside AWS_VARIABLES (chalicelib.config: the
# cluster is empty without one; CONTAINEROPS_EKS_ENDPOINT is the sandbox's alone).
PLATFORM_VARIABLES = {EKS_CLUSTER_VARIABLE, EKS_NAMESPACE_VARIABLE, DEFAULT_PLATFORM_VARIABLE}

OWN_LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
# The functions that end attempts, and so write the engine's notes into the attempts' logs.
NOTE_WRITERS = {"LaunchJobs", "TaskStopped", "SweepRunningJobs", "CheckEksJobs"}
STORE = {  # chalicelib/store/dynamodb, which every handler builds on
    "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan",
    "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
}
SECRETS = {"secretsmanager:GetSecretValue"}  # chalicelib/aws/secrets.py: masking job logs
ANSWERS = {"states:SendTaskSuccess", "states:SendTaskFailure"}  # Executions.succeed / fail
RUNS = {  # Executions.ensure_machine / start / stop (chalicelib/aws/stepfunctions.py)
    "states:CreateStateMachine", "states:UpdateStateMachine", "states:DescribeStateMachine",
    "states:TagResource", "states:StartExecution", "states:StopExecution", "iam:PassRole",
}
STOP_TASKS = {"ecs:StopTask"}  # Tasks.stop (chalicelib/aws/ecs.py)
# RunWorkspaces.start_from / discard (chalicelib/cloud/run_workspaces.py on S3LayerStore)
WORKSPACES = {"s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
# The dispatcher's Distributed Map items (chalicelib/aws/fanout_items.py), in the functions
# that start runs and have no WORKSPACES grant.
FAN_OUT_ITEMS = {"s3:PutObject"}
# Lambda keeps an event an asynchronously invoked function failed on (FailedEventsQueue),
# sending it as the function's role.
FAILED_EVENTS = {"sqs:SendMessage"}
# The EKS cluster's endpoint and certificate authority (chalicelib/aws/eks.py eks_tasks), for
# the functions that create, stop, read or delete Kubernetes Jobs; only with a cluster.
EKS = {"eks:DescribeCluster"}
# What each function may do: what the code its handler runs calls, and nothing more.
GRANTS = {
    # The routes: the store, runs started and cancelled (the dispatcher), logs read and masked.
    "APIHandler": OWN_LOGS | STORE | RUNS | WORKSPACES | STOP_TASKS | SECRETS | EKS | {
        "logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents"},
    # chalicelib/cloud/launcher.py: a launch message consumed, its task started (Tasks.run:
    # ListTasks by startedBy, the definition described or registered, RunTask with tags and
    # the task roles; or the Kubernetes Job created) or its job state answered at once; a
    # fan-out job's end stops its instances still running (fail_fast).
    "LaunchJobs": OWN_LOGS | STORE | ANSWERS | EKS | STOP_TASKS | {
        "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",
        "ecs:ListTasks", "ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition",
        "ecs:RunTask", "ecs:TagResource", "iam:PassRole"},
    # chalicelib/cloud/log_handler.py: what a log batch reports, stored with secrets masked.
    "IngestLogs": OWN_LOGS | STORE | SECRETS | FAILED_EVENTS,
    # chalicelib/cloud/verdict.py: the stopped task's whole stream read (CloudWatchLogs.messages,
    # GetLogEvents only), masked, judged, and the job state answered.
    "TaskStopped": OWN_LOGS | STORE | SECRETS | ANSWERS | FAILED_EVENTS | {"logs:GetLogEvents"},
    # chalicelib/cloud/run_end.py: the run ended, its tasks stopped, its workspace removed when
    # it succeeded, the next queued run started (the dispatcher).
    "ExecutionEnded": OWN_LOGS | STORE | RUNS | WORKSPACES | STOP_TASKS | FAILED_EVENTS | EKS,
    # chalicelib/cloud/sweep.py: the running runs' attempts read, tasks past their time stopped,
    # a stopped task whose event was lost described and judged (as task_stopped does), a run
    # whose execution's end was lost described and ended (as execution_ended does).
    "SweepRunningJobs": OWN_LOGS | STORE | STOP_TASKS | SECRETS | ANSWERS | RUNS | WORKSPACES
    | FAILED_EVENTS | EKS | {"ecs:DescribeTasks", "logs:GetLogEvents", "states:DescribeExecution"},
    # chalicelib/services/event_triggers.py and schedules.py: the trigger index read, the event
    # claimed or the tick marked, the run recorded and submitted (the dispatcher: its machine
    # made current, its execution started, stopped if a cancel came first).
    "ObjectCreated": OWN_LOGS | STORE | RUNS | FAN_OUT_ITEMS | FAILED_EVENTS,
    "ReferenceChanged": OWN_LOGS | STORE | RUNS | FAN_OUT_ITEMS | FAILED_EVENTS,
    "StartScheduledRuns": OWN_LOGS | STORE | RUNS | FAN_OUT_ITEMS | FAILED_EVENTS,
    # chalicelib/api/authorizer.py: the API token hashes read (chalicelib/aws/api_tokens.py).
    "ApiToken": OWN_LOGS | SECRETS,
    # chalicelib/cloud/eks_check.py: the ended Kubernetes Jobs found, each judged as TaskStopped
    # judges a stopped task (verdict.py), then deleted.
    "CheckEksJobs": OWN_LOGS | STORE | SECRETS | ANSWERS | FAILED_EVENTS | {"logs:GetLogEvents"} | EKS,
}


def granted_actions(template: Template, function: str) -> set[str]:
    return {a for s in role_statements(template, function_role(template, function)) for a in s.actions}


def test_the_package_deploys_the_api_and_every_lambda_function_of_app_py(
        packaged_template: Template) -> None:
    handlers = {"app.app"} | {f.handler_string for f in app.app.pure_lambda_functions}
    handlers |= {source.handler_string for source in app.app.event_sources}
    handlers |= {authorizer.handler_string for authorizer in app.app.builtin_auth_handlers}
    deployed = {name: r["Properties"]["Handler"] for name, r in functions(packaged_template).items()}
    assert set(deployed.values()) == handlers
    assert deployed == FUNCTIONS


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_each_function_runs_the_aws_backend_with_every_aws_variable(
        packaged_template: Template, function: str) -> None:
    environment = function_environment(packaged_template, function)
    assert environment[BACKEND_VARIABLE] == Backend.AWS.value
    assert (set(AWS_VARIABLES) | PLATFORM_VARIABLES) - set(environment) == set()


def test_the_aws_variables_are_set_in_one_place_for_every_function(any_template: Template) -> None:
    assert set(global_environment(any_template)) == set(AWS_VARIABLES) | PLATFORM_VARIABLES
    for function in set(FUNCTIONS) & set(any_template["Resources"]):
        own = set(own_environment(any_template, function))
        assert own & (set(AWS_VARIABLES) | PLATFORM_VARIABLES) == set(), function


def test_each_function_runs_as_a_role_of_its_own_that_only_lambda_assumes(
        packaged_template: Template) -> None:
    roles = {function: function_role(packaged_template, function) for function in FUNCTIONS}
    assert len(set(roles.values())) == len(FUNCTIONS), roles
    for role in roles.values():
        assert packaged_template["Resources"][role]["Type"] == ROLE
        trust = [s for s in statements(packaged_template) if s.owner == role and "Principal" in s.body]
        assert [s.body["Principal"] for s in trust] == [{"Service": "lambda.amazonaws.com"}], role


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_each_function_may_do_exactly_what_its_handler_calls(
        packaged_template: Template, function: str) -> None:
    assert granted_actions(packaged_template, function) == GRANTS[function]


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_each_function_logs_to_a_group_of_its_own_that_expires(
        packaged_template: Template, function: str) -> None:
    group = log_group_of(packaged_template, function)
    others = {log_group_of(packaged_template, f) for f in FUNCTIONS if f != function}
    (job_logs,) = referenced_resources(function_environment(packaged_template)["CONTAINEROPS_LOG_GROUP"])
    assert group not in others | {job_logs}  # the job log group feeds ingest_logs: never its own logs
    resource = packaged_template["Resources"][group]
    assert resource["Type"] == "AWS::Logs::LogGroup"
    assert resource["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_each_function_writes_its_own_log_group_and_only_an_attempts_judge_writes_the_job_logs(
        packaged_template: Template, function: str) -> None:
    (job_logs,) = referenced_resources(function_environment(packaged_template)["CONTAINEROPS_LOG_GROUP"])
    writes = [s for s in role_statements(packaged_template, function_role(packaged_template, function))
              if OWN_LOGS & set(s.actions)]
    written = [referenced_resources(s.resources) for s in writes]
    assert all(set(s.actions) == OWN_LOGS for s in writes)
    # The engine's notes on an attempt ([containerops] lines: why it could not start, a
    # timeout, a workspace not saved) go into its log (cloud/attempt_end.py): the functions
    # that end attempts write them.
    notes = [{job_logs}] if function in NOTE_WRITERS else []
    assert written == [{log_group_of(packaged_template, function)}, *notes]


@pytest.mark.parametrize("function", ["TaskStopped", "CheckEksJobs"])
def test_the_verdict_reads_the_job_logs_and_writes_only_its_notes_there(packaged_template: Template,
                                                                       function: str) -> None:
    (job_logs,) = referenced_resources(function_environment(packaged_template)["CONTAINEROPS_LOG_GROUP"])
    role = function_role(packaged_template, function)
    on_job_logs = {a for s in role_statements(packaged_template, role)
                   if job_logs in referenced_resources(s.resources) for a in s.actions}
    assert on_job_logs == {"logs:GetLogEvents"} | OWN_LOGS


@pytest.mark.parametrize("function", ["TaskStopped", "CheckEksJobs"])
def test_the_verdict_has_five_minutes_and_a_gigabyte_to_read_a_whole_stream(
        packaged_template: Template, function: str) -> None:
    # A stopped task's stream is read from the head, past the 16 MiB cap too, before judging.
    properties = packaged_template["Resources"][function]["Properties"]
    assert properties["Timeout"] >= 300
    assert properties["MemorySize"] >= 1024


def test_only_the_launcher_consumes_the_launch_queue_and_only_it(packaged_template: Template) -> None:
    (queue,) = referenced_resources(function_environment(packaged_template)["CONTAINEROPS_LAUNCH_QUEUE_URL"])
    for function in FUNCTIONS:
        consuming = [s for s in role_statements(packaged_template, function_role(packaged_template, function))
                     if "sqs:ReceiveMessage" in s.actions]
        if function == "LaunchJobs":
            assert [referenced_resources(s.resources) for s in consuming] == [{queue}]
        else:
            assert consuming == [], function


def test_the_launcher_runs_only_containerops_task_definitions_on_the_job_cluster(
        packaged_template: Template) -> None:
    role = function_role(packaged_template, "LaunchJobs")
    (run,) = [s for s in role_statements(packaged_template, role) if "ecs:RunTask" in s.actions]
    assert run.actions == ["ecs:RunTask"]
    (definitions,) = run.resources
    assert definitions["Fn::Sub"].endswith(":task-definition/containerops-*")
    assert run.body["Condition"] == {"ArnEquals": {"ecs:cluster": {"Fn::GetAtt": ["JobCluster", "Arn"]}}}


def test_the_launcher_tags_only_the_tasks_it_starts_on_the_job_cluster(packaged_template: Template) -> None:
    role = function_role(packaged_template, "LaunchJobs")
    (tag,) = [s for s in role_statements(packaged_template, role) if "ecs:TagResource" in s.actions]
    assert tag.actions == ["ecs:TagResource"]
    assert tag.resources == [{"Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}"
                                         ":task/${JobCluster}/*"}]
    assert tag.body["Condition"] == {"StringEquals": {"ecs:CreateAction": "RunTask"}}


def test_each_functions_log_group_is_an_output(merge_template: Template, packaged_template: Template) -> None:
    outputs = set().union(*(referenced_resources(o["Value"]) for o in merge_template["Outputs"].values()))
    assert {log_group_of(packaged_template, function) for function in FUNCTIONS} <= outputs


ASYNCHRONOUS = ("IngestLogs", "TaskStopped", "ExecutionEnded", "SweepRunningJobs",
                "ObjectCreated", "ReferenceChanged", "StartScheduledRuns", "CheckEksJobs")


@pytest.mark.parametrize("function", ASYNCHRONOUS)
def test_an_event_an_asynchronous_function_failed_on_is_kept_in_the_failed_events_queue(
        packaged_template: Template, function: str) -> None:
    configs = [r["Properties"] for r in packaged_template["Resources"].values()
               if r["Type"] == "AWS::Lambda::EventInvokeConfig"
               and r["Properties"]["FunctionName"] == {"Ref": function}]
    (config,) = configs
    assert config["Qualifier"] == "$LATEST"
    assert config["MaximumRetryAttempts"] == 2
    destination = config["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination == {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}
    assert packaged_template["Resources"]["FailedEventsQueue"]["Type"] == "AWS::SQS::Queue"


def test_the_functions_sqs_invokes_have_no_invoke_config(packaged_template: Template) -> None:
    configured = {r["Properties"]["FunctionName"]["Ref"] for r in packaged_template["Resources"].values()
                  if r["Type"] == "AWS::Lambda::EventInvokeConfig"}
    assert configured == set(ASYNCHRONOUS)  # the launcher's failures stay in the launch queue's DLQ
