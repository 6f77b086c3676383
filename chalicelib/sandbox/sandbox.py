"""`AwsSandbox`: the whole serverless path of a run in this process, AWS played by moto and the
job containers run by the real Docker engine.

Opening it starts moto (Step Functions executing for real) with fake credentials, applies
moto's corrections (moto_fixes.py), makes the deployment's resources (resources.py), builds
aws mode's own wiring on moto's clients (`AwsServices.build`: the same dispatcher, launcher,
log handler and finalisers the Lambda functions use), and starts the pump (pump.py) and the
log shipper (awslogs.py). A run is recorded and submitted as the API records and submits one
(`RunService`); from there it moves only through the events AWS would send. Closing stops
every container, ends every execution moto still runs (so none of its threads outlives the
sandbox), stops moto and puts the environment back as it was.

One sandbox at a time per process: moto's state, its patches and the process environment
are the process's, not the sandbox's.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from chalicelib.aws.bootstrap import AwsClients, AwsServices
from chalicelib.aws.eks_jobs import RUN_LABEL, SECRETS_NAME
from chalicelib.aws.stepfunctions import StepFunctionsExecutions
from chalicelib.cloud.log_batches import control_batch, encode_batch
from chalicelib.config import DEFAULT_EKS_NAMESPACE, ConfigurationError, EksSettings
from chalicelib.domain.cloud_rules import cloud_problems
from chalicelib.domain.models import Component, Workflow
from chalicelib.domain.platforms import DEFAULT_PLATFORM, Platform
from chalicelib.engine.records import FROM_FAILURE, RerunScope, RunRecord
from chalicelib.errors import InvalidDefinition
from chalicelib.launch.base import Launcher
from chalicelib.sandbox.awslogs import LogShipper
from chalicelib.sandbox.ecs_agent import EcsAgent
from chalicelib.sandbox.environment import REGION, fake_aws_environment, require_moto
from chalicelib.sandbox.executions import ExecutionWatcher
from chalicelib.sandbox.kubelet import KubeletSetup
from chalicelib.sandbox.kubernetes_api import KubernetesApi
from chalicelib.sandbox.lambdas import LambdaFunctions
from chalicelib.sandbox.launch_queue import LaunchQueue
from chalicelib.sandbox.pump import Pump
from chalicelib.sandbox.resources import SandboxClients, create_resources
from chalicelib.sandbox.schedule import CRON_CHECK_SECONDS, Schedule
from chalicelib.sandbox.sidecars import in_process_sidecar
from chalicelib.sandbox.task_runner import SidecarRunner, TaskSetup
from chalicelib.services.definitions import save_workflow_if_changed
from chalicelib.services.run_service import RunService

log = logging.getLogger("containerops.sandbox")

WAIT_POLL_SECONDS = 0.05
EKS_CHECK_SECONDS = 0.2  # check_eks_jobs runs every minute on AWS; here at the pace of a test
CLOSE_SECONDS = 10.0
DEFAULT_STOP_GRACE = 5.0  # as the local driver's: SIGTERM, then SIGKILL
# The calls moto answers that give the pump something to do.
WAKING_OPERATIONS = frozenset({"SendMessage", "SendMessageBatch", "RunTask", "StopTask",
                               "StartExecution", "StopExecution", "SendTaskSuccess",
                               "SendTaskFailure"})
MOTO_STEP_LOGGER = "moto.stepfunctions.parser"  # logs every failed state as an error

_one_per_process = threading.Lock()


class AwsSandbox:
    """A context manager; `services` and the methods below work while it is open."""

    services: AwsServices

    def __init__(self, workdir: Path, *, secrets: Mapping[str, str] | None = None,
                 container_user: str | None = None, stop_grace: float = DEFAULT_STOP_GRACE,
                 default_platform: Platform = DEFAULT_PLATFORM) -> None:
        """`workdir`: where the tasks' volumes are made (a folder per task, while it runs); `secrets`:
        `secrets.NAME` values, put into Secrets Manager (and the Kubernetes Secret of EKS jobs);
        `container_user`: the user the job containers of Fargate tasks run as (the local
        driver's default when None; an EKS Job names its own); `default_platform`: where a job
        whose definition names none runs."""
        self._default_platform = default_platform
        self._workdir = Path(workdir)
        self._secrets = dict(secrets or {})
        self._container_user = container_user
        self._stop_grace = stop_grace
        self.sandbox_id = uuid.uuid4().hex[:10]
        self._stack = ExitStack()
        self._pump: Pump | None = None
        self._watcher: ExecutionWatcher | None = None

    # --- opening and closing ------------------------------------------------------------
    def __enter__(self) -> AwsSandbox:
        require_moto()
        if not _one_per_process.acquire(blocking=False):
            raise ConfigurationError("another AWS sandbox is open in this process; close it first")
        try:
            self._open()
        except BaseException:
            self._stack.close()
            _one_per_process.release()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        try:
            self._stack.close()
        finally:
            _one_per_process.release()

    def _open(self) -> None:
        import boto3
        from botocore.config import Config
        from moto import mock_aws

        from chalicelib.launch.docker_launcher import DockerLauncher
        from chalicelib.local.driver import default_container_user
        from chalicelib.sandbox import moto_fixes

        stack = self._stack
        stack.enter_context(fake_aws_environment())
        stack.enter_context(mock_aws(config={"stepfunctions": {"execute_state_machine": True}}))
        stack.enter_context(moto_fixes.one_request_at_a_time(self._observe))
        stack.enter_context(moto_fixes.fresh_token_per_attempt())
        stack.enter_context(moto_fixes.manual_task_transitions())
        stack.enter_context(moto_fixes.paged_log_reads())
        stack.callback(_quieted(MOTO_STEP_LOGGER))
        launcher = DockerLauncher.from_environment()

        session = boto3.session.Session(region_name=REGION)
        clients = SandboxClients(ecs=session.client("ecs"), ec2=session.client("ec2"),
                                 logs=session.client("logs"), secrets=session.client("secretsmanager"),
                                 sqs=session.client("sqs"), s3=session.client("s3"), region=REGION)
        sfn = session.client("stepfunctions")
        settings = create_resources(clients, self.sandbox_id, self._secrets)
        # The awslogs driver's (and Fluent Bit's) own client: it puts every line of every job,
        # so botocore's check of each event (40% of the time of a put) is left out; the events
        # are ours. Its batches go to the log function, made below.
        driver_logs = session.client("logs", config=Config(parameter_validation=False))
        shipper = LogShipper(driver_logs, settings.log_group,
                             lambda event: self._functions.ingest_logs(event))
        self._kubernetes = self._open_cluster(launcher, shipper, in_process_sidecar(clients.s3))
        stack.callback(self._kubernetes.close)
        settings = replace(settings, default_platform=self._default_platform,
                           eks=EksSettings(f"sandbox-{self.sandbox_id}", endpoint=self._kubernetes.url))
        # The harness's kubelet ships a pod's last lines before the Job ends: no wait for them.
        self.services = AwsServices.build(
            settings, AwsClients(clients.ecs, sfn, clients.logs, clients.secrets, clients.s3, region=REGION,
                                 eks=session.client("eks"), sts=session.client("sts")),
            eks_log_grace=0.0)
        self._runs = RunService(self.services.store, self.services.dispatcher)
        functions = self._functions = LambdaFunctions(self.services)
        self._agent = EcsAgent(TaskSetup(
            launcher=launcher, ecs=clients.ecs, secrets=clients.secrets, cluster=settings.cluster,
            shipper=shipper, task_stopped=functions.task_stopped, workdir=self._workdir / "tasks",
            sidecar=in_process_sidecar(clients.s3),
            container_user=self._container_user or default_container_user(),
            stop_grace=self._stop_grace, region=REGION, sandbox_id=self.sandbox_id))
        self._watcher = ExecutionWatcher(sfn, self.services.store,
                                         StepFunctionsExecutions(sfn, settings.state_machine_role_arn),
                                         functions.execution_ended, REGION)
        self._queue = LaunchQueue(clients.sqs, settings.launch_queue_url, functions, REGION)
        sweeps = Schedule(functions.sweep_running_jobs)
        # Cron ticks are whole minutes: a check every few seconds starts a due run soon enough.
        cron_checks = Schedule(functions.start_scheduled_runs, every=CRON_CHECK_SECONDS)
        eks_checks = Schedule(functions.check_eks_jobs, every=EKS_CHECK_SECONDS)
        self._pump = Pump([("launch queue", self._queue.poll), ("ECS agent", self._agent.poll),
                           ("execution events", self._watcher.poll), ("schedule", sweeps.poll),
                           ("schedule triggers", cron_checks.poll), ("EKS check", eks_checks.poll)])
        # CloudWatch checks that the destination answers when a subscription is made.
        functions.ingest_logs(encode_batch(control_batch(round(time.time() * 1000))))
        shipper.start()
        stack.callback(shipper.stop)
        self._pump.start()
        stack.callback(self._close_down)

    def _close_down(self) -> None:
        """Stop the pump and the containers; end what moto still executes."""
        assert self._pump is not None and self._watcher is not None
        self._pump.stop()
        self._functions.closed = True
        self._agent.shutdown()
        self._kubernetes.close()
        deadline = time.monotonic() + CLOSE_SECONDS
        while self._watcher.running() and time.monotonic() < deadline:
            self._watcher.stop_all("the sandbox was closed")
            for token in self._queue.drain_tokens():
                self._watcher.answer_token(token)
            self._watcher.poll()
            time.sleep(WAIT_POLL_SECONDS)
        if self._watcher.running():
            log.warning("executions still running as the sandbox closes: %s", self._watcher.running())
        _join_moto_threads(max(0.0, deadline - time.monotonic()))

    def _open_cluster(self, launcher: Launcher, shipper: LogShipper, sidecar: SidecarRunner) -> KubernetesApi:
        """The EKS cluster's part: the harness's API on 127.0.0.1 and its node on Docker, with
        the namespace of infra/eks and the Secret the jobs' `secretKeyRef`s read."""
        cluster = KubernetesApi(KubeletSetup(
            launcher=launcher, shipper=shipper, workdir=self._workdir / "pods", sidecar=sidecar,
            sandbox_id=self.sandbox_id, stop_grace=self._stop_grace))
        cluster.put_secret(DEFAULT_EKS_NAMESPACE, SECRETS_NAME, self._secrets)
        return cluster

    def _observe(self, operation: str, parameters: Mapping[str, Any]) -> None:
        """Every call moto answered, from any thread: what the pump should know of."""
        watcher, pump = self._watcher, self._pump
        if watcher is not None:
            if operation == "StartExecution":
                watcher.started(str(parameters.get("stateMachineArn", "")), str(parameters.get("name", "")))
            elif operation == "StopExecution":
                watcher.stopping(str(parameters.get("executionArn", "")))
        if pump is not None and operation in WAKING_OPERATIONS:
            pump.wake()

    # --- definitions ------------------------------------------------------------------
    def put_component(self, component: Component) -> None:
        self.services.store.put_component(component)

    def save_workflow(self, workflow: Workflow) -> int:
        """The version to run (the latest when identical, else a new one), its state machine
        made; InvalidDefinition for what a workflow may not do on AWS (host mounts...)."""
        problems = cloud_problems(workflow)
        if problems:
            raise InvalidDefinition(problems)
        version = save_workflow_if_changed(self.services.store, workflow)
        self.services.dispatcher.prepare(workflow.metadata.namespace, workflow.metadata.name, version)
        return version

    # --- runs -------------------------------------------------------------------------
    def start_run(self, namespace: str, name: str, params: Mapping[str, str], *,
                  version: int | None = None) -> RunRecord:
        """Recorded (queued) and submitted, as the API starts a run."""
        return self._runs.launch(self._runs.recorder.plan(namespace, name, params, version=version))

    def rerun(self, run_id: str, scope: RerunScope = FROM_FAILURE) -> RunRecord:
        """Recorded and submitted as the API re-runs a run: from failure, every job, or some
        jobs and those their outputs feed (`scope`)."""
        run = self.services.store.get_run(run_id)
        return self._runs.rerun(run.namespace, run_id, scope)

    def rerun_from_failure(self, run_id: str) -> RunRecord:
        return self.rerun(run_id, FROM_FAILURE)

    def cancel(self, run_id: str) -> None:
        run = self.services.store.get_run(run_id)
        self._runs.cancel(run.namespace, run_id)

    def wait(self, run_id: str, timeout: float = 300.0) -> RunRecord:
        """The run once it is final and nothing of it is left in flight (no container still
        running or telling of its end, no execution not yet told ended); TimeoutError, naming
        what still runs, after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while (settled := self.settled(run_id)) is None:
            if time.monotonic() >= deadline:
                raise TimeoutError(self._still_running(self.services.store.get_run(run_id), timeout))
            time.sleep(WAIT_POLL_SECONDS)
        return settled

    def settled(self, run_id: str) -> RunRecord | None:
        """The run if it is final with nothing of it left in flight (what `wait` waits for)."""
        run = self.services.store.get_run(run_id)
        return run if run.status.is_final and not self._in_flight(run_id) else None

    @property
    def handler_failures(self) -> list[str]:
        """One line per failed invocation of a Lambda function so far."""
        return self._functions.failures

    def _in_flight(self, run_id: str) -> list[str]:
        assert self._watcher is not None
        return [*(f"task {arn}" for arn in self._agent.live_tasks(run_id)),
                *(f"Kubernetes Job {name}" for name in self._jobs_of(run_id)),
                *(f"execution {arn}" for arn in self._watcher.running(run_id))]

    def _jobs_of(self, run_id: str) -> list[str]:
        """The run's Kubernetes Jobs the EKS check has not judged and removed yet."""
        return [str(job["metadata"]["name"]) for job in self._kubernetes.jobs()
                if (job["metadata"].get("annotations") or {}).get(RUN_LABEL) == run_id]

    def _still_running(self, run: RunRecord, timeout: float) -> str:
        jobs = [f"{job.name} ({job.status})" for job in self.services.store.list_jobs(run.id)
                if not job.status.is_final]
        parts = [f"jobs {', '.join(jobs)}" if jobs else "", *self._in_flight(run.id)]
        still = "; ".join(part for part in parts if part) or "nothing but the run record"
        return f"run {run.id} is {run.status} after {timeout:g} s; still running: {still}"


def _quieted(name: str) -> Any:
    """Silence a logger until the returned function is called."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    return lambda: logger.setLevel(level)


def _join_moto_threads(timeout: float) -> None:
    """Wait (a bounded time) for moto's execution threads, which outlive `mock_aws`."""
    from moto.stepfunctions.parser.utils import TMP_THREADS

    deadline = time.monotonic() + timeout
    for thread in list(TMP_THREADS):
        if thread.is_alive():
            thread.join(max(0.0, deadline - time.monotonic()))
    lingering = sum(thread.is_alive() for thread in TMP_THREADS)
    if lingering:
        log.warning("%d moto execution thread(s) still alive as the sandbox closes", lingering)
