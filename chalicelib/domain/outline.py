"""A tolerant outline of a workflow document, for the rules that span several fields.

Schema errors (from pydantic) and cross-field errors (from `validation`) are reported
together, so the cross-field rules cannot wait for a valid model: they run on this
outline, which keeps every piece of the raw document whose shape is usable and skips
the rest (the schema check already reports those).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FAN_OUT_SETTINGS = ("max_parallel", "fail_fast", "allowed_failures")


@dataclass(frozen=True)
class JobOutline:
    path: str
    name: str
    stage: int
    action: int
    position: int
    sequenced_stage: bool
    component: str | None
    image: str | None
    data: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()
    condition: str | None = None
    mount_sources: tuple[tuple[int, str], ...] = ()
    # Fan-out, as written: the matrix mapping (None when absent or no mapping), the shards
    # when a whole number from 1, and which of the fan-out settings are present, with their values.
    matrix: dict[str, Any] | None = None
    has_matrix: bool = False
    shards: int | None = None
    has_shards: bool = False
    fan_out_settings: dict[str, Any] = field(default_factory=dict)

    @property
    def fans_out(self) -> bool:
        return self.has_matrix or self.has_shards

    def finishes_before(self, other: JobOutline) -> bool:
        """Whether this job is certain to have finished when `other` starts."""
        if self.stage != other.stage:
            return self.stage < other.stage
        if self.action == other.action:
            return self.position < other.position
        return self.sequenced_stage and self.action < other.action


@dataclass(frozen=True)
class NamedItem:
    path: str
    name: str


@dataclass
class WorkflowOutline:
    params: list[NamedItem] = field(default_factory=list)
    env: dict[str, Any] = field(default_factory=dict)
    stages: list[NamedItem] = field(default_factory=list)
    actions: list[tuple[int, NamedItem]] = field(default_factory=list)
    jobs: list[JobOutline] = field(default_factory=list)
    crons: list[NamedItem] = field(default_factory=list)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _sequence(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def outline_workflow(document: Any) -> WorkflowOutline:
    spec = _mapping(_mapping(document).get("spec"))
    outline = WorkflowOutline(env=_mapping(spec.get("env")))
    for i, param in enumerate(_sequence(spec.get("params"))):
        if (name := _text(_mapping(param).get("name"))) is not None:
            outline.params.append(NamedItem(f"spec.params[{i}].name", name))
    for i, trigger in enumerate(_sequence(spec.get("triggers"))):
        trigger = _mapping(trigger)
        if trigger.get("type") == "schedule" and (cron := _text(trigger.get("cron"))):
            outline.crons.append(NamedItem(f"spec.triggers[{i}].cron", cron))
    for s, stage in enumerate(_sequence(spec.get("stages"))):
        stage = _mapping(stage)
        stage_path = f"spec.stages[{s}]"
        if (name := _text(stage.get("name"))) is not None:
            outline.stages.append(NamedItem(f"{stage_path}.name", name))
        sequenced = stage.get("sequencing") == "sequence"
        for a, action in enumerate(_sequence(stage.get("actions"))):
            action = _mapping(action)
            action_path = f"{stage_path}.actions[{a}]"
            if (name := _text(action.get("name"))) is not None:
                outline.actions.append((s, NamedItem(f"{action_path}.name", name)))
            for j, job in enumerate(_sequence(action.get("jobs"))):
                job_outline = _outline_job(_mapping(job), f"{action_path}.jobs[{j}]", s, a, j, sequenced)
                if job_outline is not None:
                    outline.jobs.append(job_outline)
    return outline


def _outline_job(
    job: dict[str, Any], path: str, stage: int, action: int, position: int, sequenced: bool
) -> JobOutline | None:
    name = _text(job.get("name"))
    if name is None:
        return None
    mounts = [
        (i, source)
        for i, mount in enumerate(_sequence(job.get("mounts")))
        if (source := _text(_mapping(mount).get("source"))) is not None
    ]
    return JobOutline(
        path=path,
        name=name,
        stage=stage,
        action=action,
        position=position,
        sequenced_stage=sequenced,
        component=_text(job.get("component")),
        image=_text(job.get("image")),
        data=_mapping(job.get("data")),
        env=_mapping(job.get("env")),
        outputs=tuple(o for o in _sequence(job.get("outputs")) if isinstance(o, str)),
        condition=_text(job.get("if")),
        mount_sources=tuple(mounts),
        matrix=job["matrix"] if isinstance(job.get("matrix"), dict) else None,
        shards=shards if isinstance(shards := job.get("shards"), int) and not isinstance(shards, bool)
        and shards >= 1 else None,
        has_matrix=job.get("matrix") is not None,
        has_shards="shards" in job and job["shards"] is not None,
        fan_out_settings={key: job[key] for key in FAN_OUT_SETTINGS if job.get(key) is not None},
    )
