"""Small builders for definitions and scheduler layouts, so tests say only what matters.

workflow_doc(stage("build", action("a", job("compile"), job("pack"))), params=[...])
component("demo/tool@1.0.0", inputs=[required_input("url")], outputs=["IMAGE"])
layout("a1 a2 | b1", "seq: c1 | d1")
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.domain.models import Component, Workflow
from chalicelib.domain.scheduler import StageLayout
from chalicelib.engine.records import LogLine
from chalicelib.logs.base import LogSink, entries_of

DEFAULT_IMAGE = "busybox:1"


# --- workflows --------------------------------------------------------------------------


def job(name: str, **fields: Any) -> dict[str, Any]:
    """A job document; a plain image job unless `component` or `image` is given.

    `if_` is accepted for the `if` field (a Python keyword).
    """
    if "if_" in fields:
        fields["if"] = fields.pop("if_")
    if "component" not in fields and "image" not in fields:
        fields["image"] = DEFAULT_IMAGE
    return {"name": name, **fields}


def action(name: str, *jobs: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "jobs": list(jobs)}


def stage(name: str, *actions: dict[str, Any], sequencing: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"name": name, "actions": list(actions)}
    if sequencing is not None:
        document["sequencing"] = sequencing
    return document


def workflow_doc(*stages: dict[str, Any], **spec: Any) -> dict[str, Any]:
    """A workflow document; extra keyword arguments go into `spec` (params, env, triggers...)."""
    return {
        "apiVersion": "containerops/v1",
        "kind": "Workflow",
        "metadata": {"namespace": "demo", "name": "ci"},
        "spec": {**spec, "stages": list(stages)},
    }


def single_job_doc(*, name: str = "only", **fields: Any) -> dict[str, Any]:
    """A workflow of one stage, one action, one job; `spec__X` keys go into the spec."""
    spec = {
        key.removeprefix("spec__"): fields.pop(key)
        for key in list(fields)
        if key.startswith("spec__")
    }
    return workflow_doc(stage("main", action("run", job(name, **fields))), **spec)


def workflow(*stages: dict[str, Any], **spec: Any) -> Workflow:
    return Workflow.model_validate(workflow_doc(*stages, **spec))


def single_job_workflow(**fields: Any) -> Workflow:
    return Workflow.model_validate(single_job_doc(**fields))


JOB_PATH = "spec.stages[0].actions[0].jobs[0]"


def job_path(stage_index: int = 0, action_index: int = 0, job_index: int = 0) -> str:
    return f"spec.stages[{stage_index}].actions[{action_index}].jobs[{job_index}]"


# --- components -------------------------------------------------------------------------


def required_input(name: str) -> dict[str, Any]:
    return {"name": name, "required": True}


def optional_input(name: str, default: Any = None) -> dict[str, Any]:
    return {"name": name} if default is None else {"name": name, "default": default}


def component_doc(
    ref: str = "demo/tool@1.0.0",
    *,
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    namespace_name, version = ref.split("@")
    namespace, name = namespace_name.split("/")
    spec.setdefault("image", f"{namespace}/{name}:{version}")
    if inputs is not None:
        spec["inputs"] = inputs
    if outputs is not None:
        spec["outputs"] = [{"name": output} for output in outputs]
    return {
        "apiVersion": "containerops/v1",
        "kind": "Component",
        "metadata": {"namespace": namespace, "name": name, "version": version},
        "spec": spec,
    }


def component(ref: str = "demo/tool@1.0.0", **kwargs: Any) -> Component:
    return Component.model_validate(component_doc(ref, **kwargs))


def catalog(*components: Component) -> InMemoryCatalog:
    return InMemoryCatalog(components)


# --- scheduler layouts ------------------------------------------------------------------


def layout(*stages: str) -> list[StageLayout]:
    """Stages written compactly: actions separated by '|', jobs of an action by spaces.

    A stage starting with 'seq:' runs its actions one after another.
    """
    result = []
    for text in stages:
        sequential = text.startswith("seq:")
        body = text.removeprefix("seq:")
        actions = tuple(tuple(part.split()) for part in body.split("|"))
        result.append(StageLayout(actions=actions, sequential=sequential))
    return result


# --- log lines --------------------------------------------------------------------------


def append_lines(sink: LogSink, lines: list[LogLine]) -> None:
    """Append lines of one attempt as written out (the sink numbers them: say them in order)."""
    first = lines[0]
    stored = sink.append_logs(first.run_id, first.job, first.attempt, entries_of(lines))
    assert [line.seq for line in stored] == [line.seq for line in lines], "lines out of order"
