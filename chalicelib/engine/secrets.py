"""Which secrets a job uses, and how they reach its container on a backend that must not
put their values in the launch request (DESIGN §4 "Secrets").

Locally the driver renders `${{ secrets.NAME }}` into the job's environment and masks the
values in every log line. On AWS the launcher never holds the values: a variable whose whole
value is one secret reference becomes a `secrets` entry of the task definition (ECS fetches
the value itself), and the log handler fetches the values only to mask them. A secret inside
a longer value (`Bearer ${{ secrets.TOKEN }}`) cannot be passed that way: `cloud_problems`
says so for a workflow meant for the cloud.
"""

from __future__ import annotations

from chalicelib.domain.expressions import ExpressionError, Reference, parse_template
from chalicelib.domain.models import Job, Workflow


def _secret_of(reference: Reference) -> str | None:
    parts = reference.parts
    return parts[1] if len(parts) == 2 and parts[0] == "secrets" else None


def _secrets_in(value: str) -> list[str]:
    try:
        template = parse_template(value)
    except ExpressionError:
        return []  # validation reports it
    return [name for ref in template.references() if (name := _secret_of(ref)) is not None]


def _whole_secret(value: str) -> str | None:
    """The secret a value consists of exactly (`${{ secrets.NAME }}`), if it does."""
    try:
        template = parse_template(value)
    except ExpressionError:
        return None
    if len(template.parts) != 1 or isinstance(template.parts[0], str):
        return None
    references = template.references()
    return _secret_of(references[0]) if len(references) == 1 else None


def job_environment(workflow: Workflow, job: Job) -> dict[str, object]:
    return {**workflow.spec.env, **job.env}


def secret_variables(workflow: Workflow, job: Job) -> dict[str, str]:
    """The job's variables whose whole value is a secret: variable name -> secret name."""
    found: dict[str, str] = {}
    for name, value in job_environment(workflow, job).items():
        if isinstance(value, str) and (secret := _whole_secret(value)) is not None:
            found[name] = secret
    return found


def secret_names(workflow: Workflow) -> list[str]:
    """Every secret the workflow's jobs use, sorted (to fetch their values for masking)."""
    names = {
        secret
        for job in workflow.jobs()
        for value in job_environment(workflow, job).values()
        if isinstance(value, str)
        for secret in _secrets_in(value)
    }
    return sorted(names)


def embedded_secrets(workflow: Workflow, job: Job) -> list[str]:
    """Variables that use a secret inside a longer value (which the cloud cannot pass)."""
    return [
        name for name, value in job_environment(workflow, job).items()
        if isinstance(value, str) and _secrets_in(value) and _whole_secret(value) is None
    ]
