"""Where aws mode is wired: every adapter and handler built from `AwsSettings` and boto3
clients, once per Lambda container (or per sandbox).

The Lambda functions of `app.py` call `AwsServices.from_environment()` once and keep it;
the sandbox (chalicelib/sandbox) builds the same thing with clients of moto, so the
serverless path it runs is this wiring, not a copy of it. The log store's position tokens
are signed with a key every process of a deployment shares (`token_key.py`: the stack's
generated secret).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.api.context import ApiContext
from chalicelib.asl import Target
from chalicelib.aws.ecs import EcsTasks
from chalicelib.aws.eks import eks_tasks
from chalicelib.aws.fanout_items import S3ItemFiles
from chalicelib.aws.secrets import SecretsManagerValues
from chalicelib.aws.stepfunctions import StepFunctionsExecutions
from chalicelib.aws.token_key import shared_token_key
from chalicelib.aws.workspace_layers import S3LayerStore
from chalicelib.cloud.dispatcher import CloudDispatcher
from chalicelib.cloud.eks_check import LOG_GRACE_SECONDS, EksJobsCheck
from chalicelib.cloud.events import JOB_CONTAINER, TASK_STREAM_PREFIX
from chalicelib.cloud.launcher import JobLauncher
from chalicelib.cloud.log_handler import LogBatchHandler
from chalicelib.cloud.platform_tasks import PlatformTasks
from chalicelib.cloud.run_end import RunFinaliser
from chalicelib.cloud.run_secrets import RunSecrets
from chalicelib.cloud.run_workspaces import LayeredRunWorkspaces
from chalicelib.cloud.sweep import RunningJobsSweeper
from chalicelib.cloud.verdict import TaskFinaliser
from chalicelib.config import AwsSettings, ConfigurationError
from chalicelib.logs.cloudwatch import CloudWatchLogs
from chalicelib.logs.cloudwatch_streams import AttemptStreams
from chalicelib.services.event_triggers import EventTriggers
from chalicelib.services.run_service import RunService
from chalicelib.services.schedules import ScheduleService
from chalicelib.store.catalog import StoreCatalog
from chalicelib.store.dynamodb import DynamoDbStore

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_eks import EKSClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_stepfunctions import SFNClient
    from mypy_boto3_sts import STSClient


@dataclass(frozen=True)
class AwsClients:
    ecs: ECSClient
    stepfunctions: SFNClient
    logs: CloudWatchLogsClient
    secrets: SecretsManagerClient
    s3: S3Client
    region: str | None = None
    eks: EKSClient | None = None  # both for the EKS jobs (a deployment with a cluster)
    sts: STSClient | None = None

    @classmethod
    def default(cls) -> AwsClients:
        import boto3

        return cls(boto3.client("ecs"), boto3.client("stepfunctions"), boto3.client("logs"),
                   boto3.client("secretsmanager"), boto3.client("s3"), eks=boto3.client("eks"),
                   sts=boto3.client("sts"))


@dataclass
class AwsServices:
    settings: AwsSettings
    store: DynamoDbStore
    logs: CloudWatchLogs
    dispatcher: CloudDispatcher
    workspaces: LayeredRunWorkspaces  # the runs' /workspace layers in S3
    launcher: JobLauncher
    log_batches: LogBatchHandler
    task_finaliser: TaskFinaliser
    run_finaliser: RunFinaliser
    sweeper: RunningJobsSweeper
    event_triggers: EventTriggers  # S3 and CodeCommit events' runs
    schedules: ScheduleService  # the minute check of the cron triggers
    eks_check: EksJobsCheck | None  # the minute check of the EKS jobs' ends (None: no cluster)

    @classmethod
    def from_environment(cls) -> AwsServices:
        return cls.build(AwsSettings.from_environment(), AwsClients.default())

    @classmethod
    def build(cls, settings: AwsSettings, clients: AwsClients, *,
              token_key: bytes | Callable[[], bytes] | None = None,
              eks_log_grace: float = LOG_GRACE_SECONDS) -> AwsServices:
        """`eks_log_grace`: how long after a Kubernetes Job ended its verdict waits for the last
        lines Fluent Bit ships (the sandbox's harness ships them before the Job ends: 0)."""
        store = DynamoDbStore.from_settings(settings, region=clients.region)
        catalog = StoreCatalog(store)
        secrets = RunSecrets(store, SecretsManagerValues(clients.secrets))
        logs = CloudWatchLogs(clients.logs, settings.log_group,
                              AttemptStreams(store, TASK_STREAM_PREFIX, JOB_CONTAINER),
                              masker_for=secrets.masker,
                              token_key=token_key if token_key is not None else shared_token_key(
                                  clients.secrets, settings.token_key_secret))
        executions = StepFunctionsExecutions(clients.stepfunctions, settings.state_machine_role_arn,
                                             prefix=settings.machine_prefix)
        eks_jobs = (eks_tasks(settings, clients.eks, clients.sts)
                    if settings.eks is not None and clients.eks is not None and clients.sts is not None
                    else None)
        if settings.eks is not None and eks_jobs is None:
            raise ConfigurationError("an EKS cluster is configured, but no EKS and STS clients were given")
        tasks = PlatformTasks(EcsTasks(clients.ecs, settings), eks_jobs, settings.default_platform)
        workspaces = LayeredRunWorkspaces(S3LayerStore(clients.s3, settings.workspace_bucket))
        dispatcher = CloudDispatcher(store, executions, tasks, catalog,
                                     Target(settings.launch_queue_url,
                                            items_bucket=settings.workspace_bucket), workspaces,
                                     items=S3ItemFiles(clients.s3))
        task_finaliser = TaskFinaliser(store, executions, catalog, logs.messages, secrets, logs)
        run_finaliser = RunFinaliser(store, tasks, dispatcher, workspaces)
        runs = RunService(store, dispatcher)
        return cls(
            settings=settings, store=store, logs=logs, dispatcher=dispatcher, workspaces=workspaces,
            launcher=JobLauncher(store, executions, tasks, catalog, logs, workspaces),
            log_batches=LogBatchHandler(store, secrets, stream_prefix=TASK_STREAM_PREFIX,
                                        container_name=JOB_CONTAINER),
            task_finaliser=task_finaliser,
            run_finaliser=run_finaliser,
            sweeper=RunningJobsSweeper(store, tasks, executions, catalog, task_finaliser, run_finaliser),
            event_triggers=EventTriggers(store, runs),
            schedules=ScheduleService(store, runs.start, time.time),
            eks_check=(EksJobsCheck(eks_jobs, task_finaliser, log_grace=eks_log_grace)
                       if eks_jobs is not None else None),
        )

    def api_context(self) -> ApiContext:
        return ApiContext(self.store, self.logs, self.dispatcher, cloud=True,
                          on_workflow_saved=self.dispatcher.prepare, platforms=self.settings.platforms)
