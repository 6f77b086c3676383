"""The AWS sandbox: a run's whole serverless path on this machine, for `containerops run
--backend aws-sandbox` and for the conformance tests.

AWS is moto, started in-process (Step Functions executing the compiled machines for real),
with fake credentials set only while the sandbox is open: no request leaves the process but
the Docker engine's. The code that runs is aws mode's own (`AwsServices.build`: DynamoDB
store, Step Functions driver, ECS adapter, CloudWatch Logs, the launcher, log handler and
finalisers of `chalicelib/cloud/`), driven with the events AWS would send. What moto cannot
do is played by the sandbox:

    sandbox.py      AwsSandbox: open/close, definitions, runs, wait
    environment.py  fake credentials and region, restored after; is moto installed?
    moto_fixes.py   moto made to behave as AWS where it matters (serialised requests, a
                    token per attempt, tasks that keep their status)
    resources.py    tables, launch queue, workspace bucket, cluster, log group, roles,
                    secrets, AwsSettings
    pump.py         the background thread that plays the parts below in turn
    launch_queue.py Lambda's SQS event source: messages to the launcher, partial failures
    ecs_agent.py    the ECS agent: tasks RunTask made run on Docker; StopTask stops them
    task_runner.py  one task: its workspace sidecars, then the job as a hardened container
                    (image, command, overrides, secrets, volumes); its STOPPED event with
                    the real exit codes
    sidecars.py     the workspace sidecars' code, in-process on moto's S3
    container_io.py what the ECS agent and the kubelet do alike: output into log lines, the
                    sidecars' steps in-process
    kubernetes_api.py  EKS's part: a Kubernetes API on 127.0.0.1 answering the client's
                    calls (Jobs, pods, events), with an EKS token check (eks_auth.py) and
                    faults for tests; its objects in kubernetes_store.py, their shapes in
                    kubernetes_objects.py, selectors in kubernetes_selectors.py
    job_controller.py  the Job controller, scheduler, garbage collector and TTL controller
    kubelet.py      each pod on Docker (its statuses: pod_status.py; its spec read by
                    kubernetes_pods.py): the workspace sidecars in-process, then the job
    awslogs.py      awslogs and the subscription: lines into the task's stream, and
                    subscription batches to the log handler as they arrive
    executions.py   EventBridge for executions that ended; the stop moto does not make
    aws_events.py   the events' shapes (SQS batch, Task State Change, Execution Status Change)
    lambdas.py      the four functions, with Lambda's rules for failures

The run's workspace is what it is on AWS: layers under the run's prefix of the workspace
bucket (moto's S3), restored into a folder of the task's own before its job and saved after
it by the sidecars' code (`chalicelib/workspace`), which the sandbox runs in-process.

What the sandbox does NOT prove:
- IAM: no policy is evaluated; the roles are ARNs moto never checks (cfn-lint and a review of
  infra/template.json are what hold the least-privilege roles);
- the template and the event wiring: EventBridge rules, their patterns, the queue's event
  source mapping and the log group's subscription filter are played by the pump, not read
  from infra/template.json; so is their delivery: at least once here means exactly once,
  with no duplicates and no reordering unless a test makes them (faults are tests/cloud's);
- Fargate itself: networking (private subnets, NAT or endpoints, no public IP), image pulls
  from a registry (images must already be on this engine), the platform's own enforcement of
  the task size (Docker's CPU quota and memory limit stand in for it), the image's USER
  (the sandbox runs every job as the local driver's unprivileged user), start-up latency and
  capacity errors (`RunTask` always succeeds);
- the awslogs driver's own behaviour: its buffering, its 16 KiB partial messages for long
  lines and CloudWatch's delivery delays (here a line is one event and batches leave within
  a fraction of a second);
- Step Functions beyond moto: quotas, history limits, exact timing of retries and timeouts,
  and StopExecution aborting at once (the sandbox answers the pending tokens to get there);
- DynamoDB's and Step Functions' throttling and eventual consistency (moto answers every
  request at once, one at a time);
- the workspace sidecar's image (its code runs in-process here), Fargate's ephemeral storage
  and S3's own speed (moto answers in-process; `bench/workspace.py` measures the layers).
"""

from chalicelib.sandbox.sandbox import AwsSandbox

__all__ = ["AwsSandbox"]
