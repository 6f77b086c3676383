"""Validation of definitions: every problem at once, each with its path and a sentence.

`check_component` and `check_workflow` take a parsed YAML/JSON document. Schema problems
come from the pydantic models; the rules that span fields (unique names, known
components and inputs, references that name a job finished by then and an output it
declares, reserved variables, parseable expressions) run on the document's outline, so
both kinds are reported together.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from chalicelib.domain.catalog import ComponentCatalog, parse_component_ref
from chalicelib.domain.expressions import (
    ExpressionError,
    Reference,
    parse_condition,
    parse_template,
    references_in,
)
from chalicelib.domain.fanout import GROUP_OUTPUTS
from chalicelib.domain.fanout_rules import (
    fan_out_problems,
    inline_list_problems,
    instance_index_problems,
    matrix_reference_problems,
)
from chalicelib.domain.models import PATTERN_IN_WORDS, Component, Workflow
from chalicelib.domain.outline import JobOutline, WorkflowOutline, outline_workflow
from chalicelib.domain.protocol import RESERVED_VARIABLES, variable_for_key
from chalicelib.domain.schedule import cron_problem
from chalicelib.errors import Problem

Model = TypeVar("Model", bound=BaseModel)
M = TypeVar("M")

@dataclass(frozen=True)
class Checked(Generic[M]):
    model: M | None
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return self.model is not None and not self.problems


def check_component(document: Any) -> Checked[Component]:
    model, problems = _schema(Component, document)
    spec = document.get("spec") if isinstance(document, dict) else None
    for field_name in ("inputs", "outputs"):
        items = spec.get(field_name) if isinstance(spec, dict) else None
        problems += _duplicate_names(f"spec.{field_name}", items, field_name[:-1])
    return Checked(model if not problems else None, problems)


def _duplicate_names(path: str, items: Any, label: str) -> list[Problem]:
    first_seen: dict[str, int] = {}
    problems = []
    for index, item in enumerate(items if isinstance(items, list) else []):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            continue
        if name in first_seen:
            problems.append(Problem(f"{path}[{index}].name",
                                    f"{label} name '{name}' is already used at {path}[{first_seen[name]}]"))
        else:
            first_seen[name] = index
    return problems


def check_workflow(document: Any, catalog: ComponentCatalog) -> Checked[Workflow]:
    model, problems = _schema(Workflow, document)
    problems += _WorkflowRules(outline_workflow(document), catalog).problems()
    unique = list(dict.fromkeys(problems))
    return Checked(model if not unique else None, unique)


# --- schema --------------------------------------------------------------------------

def _schema(model_type: type[Model], document: Any) -> tuple[Model | None, list[Problem]]:
    if not isinstance(document, dict):
        return None, [Problem("", "a definition must be a mapping of fields")]
    try:
        return model_type.model_validate(document), []
    except ValidationError as exc:
        return None, [_problem_from_pydantic(error, document) for error in exc.errors()]


def format_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _problem_from_pydantic(error: Any, document: Any) -> Problem:
    kind = error["type"]
    location = _document_location(tuple(error["loc"]), document, keep_last=kind == "missing")
    if kind == "extra_forbidden":
        return Problem(format_path(location[:-1]), f"unknown field '{location[-1]}'")
    if kind == "missing":
        return Problem(format_path(location[:-1]), f"required field '{location[-1]}' is missing")
    if kind == "string_pattern_mismatch":
        words = PATTERN_IN_WORDS.get(str((error.get("ctx") or {}).get("pattern")))
        if words is not None:
            return Problem(format_path(location), f"{error.get('input')!r} is not allowed here: {words}")
    message = str(error["msg"]).removeprefix("Value error, ")
    return Problem(format_path(location), message[0].lower() + message[1:] if message else kind)


def _document_location(
    location: tuple[int | str, ...], document: Any, *, keep_last: bool
) -> tuple[int | str, ...]:
    """The location as the user wrote it: without the parts pydantic adds to name the
    branch of a union (e.g. 'str', 'schedule'), found by walking the document itself.
    A missing field is, by definition, not in the document: `keep_last` keeps its name."""
    kept: list[int | str] = []
    node = document
    for index, part in enumerate(location):
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
        elif isinstance(node, dict) and part in node:
            node = node[part]
        elif not (keep_last and index == len(location) - 1):
            continue  # a union branch, not a field of the document
        kept.append(part)
    return tuple(kept)


# --- cross-field rules ---------------------------------------------------------------

_REFERENCE_ROOTS = ("jobs", "params", "trigger", "run", "secrets", "matrix")


class _WorkflowRules:
    def __init__(self, outline: WorkflowOutline, catalog: ComponentCatalog) -> None:
        self.outline = outline
        self.catalog = catalog
        self.jobs: dict[str, JobOutline] = {}
        for job in outline.jobs:
            self.jobs.setdefault(job.name, job)
        self.params = {param.name for param in outline.params}

    def problems(self) -> list[Problem]:
        return [
            *self._unique_names(),
            *self._reserved_env("spec.env", self.outline.env),
            *self._crons(),
            *(problem for job in self.outline.jobs for problem in self._job(job)),
        ]

    def _unique_names(self) -> Iterator[Problem]:
        groups: list[tuple[str, list[tuple[str, str]]]] = [
            ("param", [(p.path, p.name) for p in self.outline.params]),
            ("stage", [(s.path, s.name) for s in self.outline.stages]),
            ("job", [(f"{j.path}.name", j.name) for j in self.outline.jobs]),
        ]
        for stage_index in {s for s, _ in self.outline.actions}:
            actions = [(a.path, a.name) for s, a in self.outline.actions if s == stage_index]
            groups.append(("action in this stage", actions))
        for label, items in groups:
            first_seen: dict[str, str] = {}
            for path, name in items:
                if name in first_seen:
                    yield Problem(path, f"{label} name '{name}' is already used at {first_seen[name]}")
                else:
                    first_seen[name] = path

    def _crons(self) -> Iterator[Problem]:
        for cron in self.outline.crons:
            if (why := cron_problem(cron.name)) is not None:
                yield Problem(cron.path, f"'{cron.name}' is not a cron expression: {why}")

    def _reserved_env(self, path: str, env: dict[str, Any]) -> Iterator[Problem]:
        for key in env:
            if key in RESERVED_VARIABLES:
                yield Problem(f"{path}.{key}", f"{key} is reserved for ContainerOps and cannot be set")

    def _job(self, job: JobOutline) -> Iterator[Problem]:
        yield from self._component(job)
        yield from fan_out_problems(job)
        yield from self._reserved_env(f"{job.path}.env", job.env)
        for key in job.data:
            variable = variable_for_key(str(key))
            if variable in RESERVED_VARIABLES:
                yield Problem(
                    f"{job.path}.data.{key}", f"data key '{key}' would set {variable}, which is reserved"
                )
        for key, value in job.data.items():
            yield from self._template(job, f"{job.path}.data.{key}", value, secrets_allowed=False)
        for key, value in job.env.items():
            yield from self._template(job, f"{job.path}.env.{key}", value, secrets_allowed=True)
        for index, source in job.mount_sources:
            yield from self._template(
                job, f"{job.path}.mounts[{index}].source", source, secrets_allowed=False
            )
        if job.condition is not None:
            try:
                node = parse_condition(job.condition)
            except ExpressionError as exc:
                yield Problem(f"{job.path}.if", f"expression does not parse: {exc}")
            else:
                for reference in references_in(node):
                    yield from self._reference(job, f"{job.path}.if", reference, secrets_allowed=False)

    def _component(self, job: JobOutline) -> Iterator[Problem]:
        if job.component is None:
            return
        path = f"{job.path}.component"
        ref = parse_component_ref(job.component)
        if ref is None:
            yield Problem(path, f"'{job.component}' is not a component reference like namespace/name@1.0.0")
            return
        component = self.catalog.find(ref)
        if component is None:
            known = self.catalog.versions(ref.namespace, ref.name)
            if known:
                yield Problem(path, f"component {ref.namespace}/{ref.name} has no version {ref.version} "
                                    f"(known: {', '.join(known)})")
            else:
                yield Problem(path, f"unknown component {ref.namespace}/{ref.name}")
            return
        inputs = {spec.name: spec for spec in component.spec.inputs}
        for key in job.data:
            if key not in inputs:
                names = ", ".join(inputs) or "none"
                yield Problem(f"{job.path}.data.{key}",
                              f"component {ref} has no input '{key}' (its inputs: {names})")
        for spec in component.spec.inputs:
            if spec.required and spec.default is None and spec.name not in job.data:
                yield Problem(f"{job.path}.data", f"required input '{spec.name}' of {ref} is missing")

    def _template(
        self, job: JobOutline, path: str, value: Any, *, secrets_allowed: bool
    ) -> Iterator[Problem]:
        if not isinstance(value, str):
            return
        try:
            template = parse_template(value)
        except ExpressionError as exc:
            yield Problem(path, f"expression does not parse: {exc}")
            return
        for reference in template.references():
            yield from self._reference(job, path, reference, secrets_allowed=secrets_allowed)

    def _reference(
        self, job: JobOutline, path: str, reference: Reference, *, secrets_allowed: bool
    ) -> Iterator[Problem]:
        root, rest = reference.parts[0], reference.parts[1:]
        if root not in _REFERENCE_ROOTS:
            roots = _REFERENCE_ROOTS if job.matrix is not None else _REFERENCE_ROOTS[:-1]
            yield Problem(path, f"unknown reference '{reference}': references start with "
                                f"{', '.join(roots)}")
        elif root == "jobs":
            yield from self._job_reference(job, path, reference)
        elif root == "matrix":
            yield from matrix_reference_problems(job, path, reference)
        elif root == "params":
            if len(rest) != 1:
                yield Problem(path, f"'{reference}' should look like params.<name>")
            elif rest[0] not in self.params:
                yield Problem(path, f"'{reference}' names no declared param")
        elif root == "run" and rest != ("id",):
            yield Problem(path, f"'{reference}' is unknown; the run offers run.id")
        elif root == "secrets":
            if not secrets_allowed:
                yield Problem(path, f"'{reference}': secrets may only be used in env, where they are masked")
            elif len(rest) != 1:
                yield Problem(path, f"'{reference}' should look like secrets.<name>")

    def _job_reference(self, job: JobOutline, path: str, reference: Reference) -> Iterator[Problem]:
        parts = reference.parts
        by_instance = len(parts) > 2 and parts[2] == "instances"
        if by_instance and (len(parts) != 6 or parts[4] != "outputs" or reference.index_at(3) is None):
            yield Problem(path, f"'{reference}' should look like jobs.<job>.instances[<n>].outputs.<KEY>")
            return
        if not by_instance and (len(parts) != 4 or parts[2] != "outputs"):
            yield Problem(path, f"'{reference}' should look like jobs.<job>.outputs.<KEY>")
            return
        source = self.jobs.get(parts[1])
        if source is None:
            yield Problem(path, f"'{reference}' names no job '{parts[1]}'")
            return
        if source.name == job.name:
            yield Problem(path, f"job '{job.name}' cannot use its own outputs")
            return
        if not source.finishes_before(job):
            yield Problem(path, f"job '{source.name}' has not finished when '{job.name}' starts: "
                                f"{_why_not_before(source, job)}")
            return
        if by_instance:
            problems = list(instance_index_problems(source, path, reference))
            yield from problems
            if problems:
                return
        key = parts[-1]
        declared = self._declared_outputs(source)
        if declared is not None and key not in declared and not (
            source.fans_out and not by_instance and key in GROUP_OUTPUTS
        ):
            listed = ", ".join(sorted(declared)) or "none"
            yield Problem(path, f"job '{source.name}' does not declare output '{key}' "
                                f"(it declares: {listed})")
            return
        if source.fans_out and not by_instance and key not in GROUP_OUTPUTS:
            yield from inline_list_problems(source, path, reference, key)

    def _declared_outputs(self, job: JobOutline) -> set[str] | None:
        declared = set(job.outputs)
        if job.component is None:
            return declared
        ref = parse_component_ref(job.component)
        component = self.catalog.find(ref) if ref else None
        if component is None:
            return None  # the unknown component is reported on its own
        return declared | {output.name for output in component.spec.outputs}


def _why_not_before(source: JobOutline, job: JobOutline) -> str:
    if source.stage > job.stage:
        return "it runs in a later stage"
    if source.action == job.action:
        return "it comes later in the same action"
    return "it runs in parallel in the same stage"
