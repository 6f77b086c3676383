"""The job containers of a deployment that runs jobs on two platforms: each attempt goes to
the platform its definition chose (`domain.platforms.chosen_platform`: the job's, else its
workflow's, else the deployment's default), and every later call about it to the platform
its ref names (an EKS Job's ref is `eks:<namespace>/<Job>`, anything else is an ECS task).

A job that chooses EKS in a deployment without a cluster fails to launch, saying so (the API
refuses to save such a workflow already: `cloud_rules.cloud_problems`; this is the backstop
for a deployment whose cluster was removed after the workflow was saved).
"""

from __future__ import annotations

from chalicelib.cloud.events import TaskStopped, is_eks_ref
from chalicelib.cloud.ports import TaskRequest, Tasks
from chalicelib.domain.platforms import Platform, chosen_platform
from chalicelib.errors import LaunchError

NO_CLUSTER = ("job '{job}' runs on eks, but this deployment has no EKS cluster (deploy with"
              " EksClusterName, or choose platform: fargate)")


class PlatformTasks:
    def __init__(self, fargate: Tasks, eks: Tasks | None, default: Platform) -> None:
        self._fargate = fargate
        self._eks = eks
        self._default = default

    def platform_of(self, request: TaskRequest) -> Platform:
        return chosen_platform(request.plan.platform, None, self._default)

    def run(self, request: TaskRequest) -> str:
        if self.platform_of(request) is Platform.EKS:
            if self._eks is None:
                raise LaunchError(NO_CLUSTER.format(job=request.plan.job))
            return self._eks.run(request)
        return self._fargate.run(request)

    def find(self, request_key: str) -> str | None:
        found = self._fargate.find(request_key)
        if found is None and self._eks is not None:
            found = self._eks.find(request_key)
        return found

    def stop(self, task_arn: str, reason: str) -> None:
        self._for(task_arn).stop(task_arn, reason)

    def end_of(self, task_arn: str) -> TaskStopped | None:
        return self._for(task_arn).end_of(task_arn)

    def _for(self, ref: str) -> Tasks:
        if not is_eks_ref(ref):
            return self._fargate
        if self._eks is None:
            raise LaunchError(f"{ref} is a Kubernetes Job, but this deployment has no EKS cluster")
        return self._eks
