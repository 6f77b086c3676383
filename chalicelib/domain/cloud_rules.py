"""What a workflow may not do when it runs on AWS, as problems with their paths.

Host `mounts` are a local-driver feature: a Fargate task has no host folder of the
operator's to mount (jobs share files through the run's `/workspace`). A secret must be a
variable's whole value (`TOKEN: ${{ secrets.DEPLOY_TOKEN }}`): ECS puts a secret into a
variable by itself, from Secrets Manager, and ContainerOps never holds its value, so
`Bearer ${{ secrets.TOKEN }}` cannot be built on the way in (build it in the component).
A job (or workflow) may name only a platform the deployment has: `eks` needs a cluster.
The API checks these when the aws backend runs it; `containerops compile` checks them too.
"""

from __future__ import annotations

from collections.abc import Collection

from chalicelib.domain.expressions import ExpressionError, parse_template
from chalicelib.domain.models import Workflow
from chalicelib.domain.platforms import Platform
from chalicelib.errors import Problem

ALL_PLATFORMS = frozenset(Platform)


def cloud_problems(workflow: Workflow, platforms: Collection[Platform] = ALL_PLATFORMS) -> list[Problem]:
    """`platforms`: what the deployment runs jobs on (a platform it lacks is a problem where
    a definition names it)."""
    problems = [
        Problem(f"spec.env.{name}", _embedded_secret(name))
        for name, value in workflow.spec.env.items() if _embeds_a_secret(value)
    ]
    if workflow.spec.platform is not None and workflow.spec.platform not in platforms:
        problems.append(Problem("spec.platform", _missing_platform(workflow.spec.platform)))
    for s, stage in enumerate(workflow.spec.stages):
        for a, action in enumerate(stage.actions):
            for j, job in enumerate(action.jobs):
                path = f"spec.stages[{s}].actions[{a}].jobs[{j}]"
                if job.mounts:
                    problems.append(Problem(
                        f"{path}.mounts",
                        "host mounts are a local-driver feature: a job run on AWS has no folder of"
                        " this machine to mount; share files through the run's /workspace",
                    ))
                problems.extend(
                    Problem(f"{path}.env.{name}", _embedded_secret(name))
                    for name, value in job.env.items() if _embeds_a_secret(value)
                )
                if job.platform is not None and job.platform not in platforms:
                    problems.append(Problem(f"{path}.platform", _missing_platform(job.platform)))
    return problems


def _missing_platform(named: str) -> str:
    if named == Platform.EKS:
        return ("this deployment has no EKS cluster (it was deployed without EksClusterName): run"
                " the job on fargate, or deploy with a cluster")
    return f"this deployment does not run jobs on {named}"


def _embedded_secret(name: str) -> str:
    return (f"on AWS a secret must be the whole value of a variable (e.g. {name}:"
            " ${{ secrets.NAME }}): ECS sets it from Secrets Manager by itself, so it cannot be"
            " part of a longer value")


def _embeds_a_secret(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        template = parse_template(value)
    except ExpressionError:
        return False  # the definition's own validation reports it
    uses_secret = any(ref.parts[:1] == ("secrets",) for ref in template.references())
    whole = len(template.parts) == 1 and not isinstance(template.parts[0], str)
    return uses_secret and not whole
