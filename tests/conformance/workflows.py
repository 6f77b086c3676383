"""Small busybox workflows for the conformance scenarios: stages of parallel actions of shell
jobs on `containerops/busybox:1` (built by examples/build-images.sh), and one component."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.models import Component, Workflow

IMAGE = "containerops/busybox:1"
NAMESPACE = "conformance"


def shell_job(name: str, script: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "image": IMAGE, "command": ["sh", "-c", script], **fields}


def stage(name: str, *jobs: dict[str, Any]) -> dict[str, Any]:
    """A stage of one action per job: they run side by side."""
    return {"name": name, "actions": [{"name": f"a{i}", "jobs": [job]} for i, job in enumerate(jobs)]}


def workflow(name: str, *stages: dict[str, Any], **spec: Any) -> Workflow:
    return Workflow.model_validate({
        "apiVersion": "containerops/v1", "kind": "Workflow",
        "metadata": {"namespace": NAMESPACE, "name": name},
        "spec": {**spec, "stages": list(stages)},
    })


# A component that prints the CO_DATA it was given (as JSON) and one of its inputs.
ECHO_JSON = Component.model_validate({
    "apiVersion": "containerops/v1", "kind": "Component",
    "metadata": {"namespace": NAMESPACE, "name": "echo-json", "version": "1.0.0"},
    "spec": {
        "image": IMAGE,
        "command": ["sh", "-c", 'echo "[COUT] DATA = $CO_DATA"; echo "[COUT] PAIR = $CO_PAIR"'],
        "data_format": "json",
        "inputs": [{"name": "pair", "type": "string", "required": True}],
        "outputs": [{"name": "DATA"}, {"name": "PAIR"}],
    },
})
