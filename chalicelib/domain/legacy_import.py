"""Import of original ContainerOps (2017) flow files into a containerops/v1 Workflow (DESIGN §2).

A legacy flow names itself by `uri` (`namespace/.../name`: first and last segments kept),
lists `stages` typed start/normal/end (start and end carry no jobs and are dropped) and
runs `jobs` of `type: component` whose `endpoint` is the image. Per job: `environments`
(a list of one-key maps or a plain map) splits into the job's `data` (the `CO_DATA`
entry, shell-style `key=value` words) and `env` (everything else but reserved names);
`timeout` seconds > 0, `resources` cpu/memory and `outputs` carry over; a job without a
name is named after its image (`pytest`, `pytest-2`, ...). A subscription
`"<stage>.<action>.<job>[KEY]": ENV` becomes the reference `${{ jobs.<new name>.outputs.KEY }}`:
in `data` under the key `ENV` minus `CO_`, lower-cased, `_`→`-` (so the component still
sees `ENV`, as DESIGN §1 sets `CO_<KEY>` per data key), or in `env` under `ENV` itself
when ENV does not start with `CO_`. The import is liberal: what it drops or guesses is
listed in `ImportResult.warnings`; what it cannot convert raises InvalidDefinition with
every problem at once, each with its path in the legacy document. Pure: no file I/O.
"""

from __future__ import annotations

import re
import shlex
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from chalicelib.domain.models import KEY_PATTERN, Workflow
from chalicelib.domain.protocol import RESERVED_VARIABLES, variable_for_key
from chalicelib.domain.quantities import parse_duration, parse_memory
from chalicelib.errors import InvalidDefinition, Problem

MAX_NAME_LENGTH = 63
DEFAULT_NAMESPACE = "default"

_FLOW_FIELDS = {"uri", "name", "title", "description", "version", "tag", "timeout", "stages"}
_STAGE_FIELDS = {"type", "name", "title", "sequencing", "actions"}
_ACTION_FIELDS = {"name", "title", "jobs"}
_JOB_FIELDS = {
    "type", "kind", "name", "title", "endpoint", "image", "timeout", "resources",
    "environments", "outputs", "subscriptions",
}
_SEQUENCING = {"parallel": "parallel", "sequence": "sequence", "sequential": "sequence",
               "serial": "sequence"}
_SUBSCRIPTION = re.compile(
    r"^(?P<stage>[^.\[\]]+)\.(?P<action>[^.\[\]]+)\.(?P<job>[^\[\]]+)\[(?P<output>[^\[\]]+)\]$"
)
_KEY = re.compile(KEY_PATTERN)
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_DOCKER_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgt])b?$", re.IGNORECASE)


@dataclass(frozen=True)
class ImportResult:
    workflow: Workflow
    warnings: list[str]


@dataclass
class _Report:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dropped_titles: int = 0

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(f"{path}: {message}" if path else message)


@dataclass(frozen=True)
class _Link:
    """One legacy subscription, still naming the source job by its legacy name."""

    path: str
    stage: str
    action: str
    job: str
    output: str
    target: str


@dataclass(frozen=True)
class _Place:
    """Where a job's action sits in the imported workflow, and its legacy names."""

    stage: int
    action: int
    sequenced_stage: bool
    legacy_stage: str
    legacy_action: str


@dataclass
class _ImportedJob:
    path: str
    place: _Place
    position: int
    given_name: str | None
    image: str
    body: dict[str, Any]
    links: list[_Link]

    @property
    def name(self) -> str:
        return str(self.body.get("name", ""))

    def finishes_before(self, other: _ImportedJob) -> bool:
        mine, theirs = self.place, other.place
        if mine.stage != theirs.stage:
            return mine.stage < theirs.stage
        if mine.action == theirs.action:
            return self.position < other.position
        return theirs.sequenced_stage and mine.action < theirs.action


def import_legacy_flow(document: object) -> ImportResult:
    """The Workflow for a legacy flow document, with warnings about what was dropped or guessed."""
    if not isinstance(document, dict):
        kind = type(document).__name__
        raise InvalidDefinition([Problem("", f"a legacy flow is a mapping, not a {kind}")])
    if "apiVersion" in document or "kind" in document:
        raise InvalidDefinition([Problem("", "this is already a containerops/v1 definition; "
                                             "load it instead of importing it")])
    report = _Report()
    _ignore_unknown(document, _FLOW_FIELDS, "", report)
    metadata = _metadata(document, report)
    jobs: list[_ImportedJob] = []
    spec: dict[str, Any] = {"stages": _stages(document.get("stages"), report, jobs)}
    timeout = _seconds(document.get("timeout"), "timeout", report)
    if timeout is not None:
        spec["timeout"] = timeout
    _name_jobs(jobs, report)
    if report.dropped_titles:
        report.warn("", f"{report.dropped_titles} title(s) of stages, actions or jobs are not "
                        "imported: a workflow has no place for them")
    for job in jobs:
        for link in job.links:
            _link(job, link, jobs, report)
    if report.problems:
        raise InvalidDefinition(report.problems)
    return ImportResult(_build({"metadata": metadata, "spec": spec}), report.warnings)


def _build(document: dict[str, Any]) -> Workflow:
    try:
        return Workflow.model_validate(document)
    except ValidationError as exc:  # a gap in the checks above; say where in the result
        raise InvalidDefinition([
            Problem(".".join(map(str, error["loc"])), f"the converted workflow: {error['msg']}")
            for error in exc.errors()
        ]) from exc


# --- flow and metadata -------------------------------------------------------------------

def _metadata(document: dict[str, Any], report: _Report) -> dict[str, str]:
    uri = _text(document.get("uri") or document.get("name")).strip().strip("/")
    segments = [segment for segment in uri.split("/") if segment]
    if not segments:
        report.problem("uri", "a legacy flow names itself with 'uri', like namespace/repo/name")
        return {}
    if len(segments) == 1:
        segments.insert(0, DEFAULT_NAMESPACE)
        report.warn("uri", f"'{uri}' has no namespace; using '{DEFAULT_NAMESPACE}'")
    elif len(segments) > 2:
        report.warn("uri", f"segment(s) {'/'.join(segments[1:-1])} of '{uri}' are dropped: "
                           "a workflow is named namespace/name")
    namespace, name = _slug(segments[0]), _slug(segments[-1])
    if not namespace or not name:
        report.problem("uri", f"'{uri}' gives no usable namespace and name")
        return {}
    if (namespace, name) != (segments[0], segments[-1]):
        report.warn("uri", f"named {namespace}/{name} (names use lower-case letters, digits, '-')")
    dropped = [f"{key} '{document[key]}'" for key in ("version", "tag") if document.get(key)]
    if dropped:
        report.warn("", f"{' and '.join(dropped)} not imported: saving a workflow numbers "
                        "its versions")
    description = _text(document.get("title") or document.get("description"))
    return {"namespace": namespace, "name": name, "description": description}


def _stages(raw: object, report: _Report, jobs: list[_ImportedJob]) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        report.problem("stages", "a legacy flow lists its stages in 'stages'")
        return []
    stages: list[dict[str, Any]] = []
    taken: set[str] = set()
    problems_before = len(report.problems)
    for index, stage in enumerate(raw):
        path = f"stages[{index}]"
        if not isinstance(stage, dict):
            report.problem(path, "a stage must be a mapping with 'type', 'name' and 'actions'")
            continue
        kind = _text(stage.get("type") or "normal").lower()
        if kind in ("start", "end"):
            if stage.get("actions"):
                report.warn(path, f"the {kind} stage carries actions; they are dropped")
            continue
        if kind != "normal":
            report.warn(f"{path}.type", f"unknown stage type '{kind}'; treated as normal")
        converted = _stage(stage, path, len(stages), taken, report, jobs)
        if converted is not None:
            stages.append(converted)
    if not stages and len(report.problems) == problems_before:
        report.problem("stages", "the flow has no stage with jobs to import")
    return stages


def _stage(stage: dict[str, Any], path: str, position: int, taken: set[str], report: _Report,
           jobs: list[_ImportedJob]) -> dict[str, Any] | None:
    _ignore_unknown(stage, _STAGE_FIELDS, path, report)
    legacy_name = _text(stage.get("name")) or f"stage-{position + 1}"
    name = _renamed(legacy_name, _slug(legacy_name) or "stage", taken, f"{path}.name", report)
    sequencing = _sequencing(stage.get("sequencing"), f"{path}.sequencing", report)
    raw_actions = stage.get("actions")
    if not isinstance(raw_actions, list) or not raw_actions:
        report.warn(path, f"stage '{legacy_name}' has no actions; it is dropped")
        return None
    actions: list[dict[str, Any]] = []
    action_names: set[str] = set()
    for index, action in enumerate(raw_actions):
        action_path = f"{path}.actions[{index}]"
        if not isinstance(action, dict):
            report.problem(action_path, "an action must be a mapping with 'name' and 'jobs'")
            continue
        _ignore_unknown(action, _ACTION_FIELDS, action_path, report)
        legacy_action = _text(action.get("name")) or f"action-{len(actions) + 1}"
        raw_jobs = action.get("jobs")
        if not isinstance(raw_jobs, list) or not raw_jobs:
            report.warn(action_path, f"action '{legacy_action}' has no jobs; it is dropped")
            continue
        action_name = _renamed(legacy_action, _slug(legacy_action) or "action", action_names,
                               f"{action_path}.name", report)
        place = _Place(position, len(actions), sequencing == "sequence", legacy_name, legacy_action)
        action_jobs = [_job(job, f"{action_path}.jobs[{j}]", j, place, report)
                       for j, job in enumerate(raw_jobs)]
        jobs.extend(job for job in action_jobs if job is not None)
        actions.append({"name": action_name,
                        "jobs": [job.body for job in action_jobs if job is not None]})
    if not actions:
        return None
    return {"name": name, "sequencing": sequencing, "actions": actions}


def _sequencing(raw: object, path: str, report: _Report) -> str:
    if raw in (None, ""):
        return "parallel"
    sequencing = _SEQUENCING.get(_text(raw).lower())
    if sequencing is None:
        report.problem(path, f"sequencing '{raw}' is neither 'parallel' nor 'sequence'")
        return "parallel"
    return sequencing


# --- jobs -------------------------------------------------------------------------------

def _job(raw: object, path: str, position: int, place: _Place,
         report: _Report) -> _ImportedJob | None:
    if not isinstance(raw, dict):
        report.problem(path, "a job must be a mapping with at least 'endpoint'")
        return None
    _ignore_unknown(raw, _JOB_FIELDS, path, report)
    if _text(raw.get("type") or "component") != "component":
        report.warn(f"{path}.type", f"job type '{raw['type']}' is not known; treated as component")
    if raw.get("kind"):
        report.warn(f"{path}.kind", f"kind '{raw['kind']}' is not imported")
    image = _text(raw.get("endpoint") or raw.get("image")).strip()
    if not image:
        report.problem(f"{path}.endpoint", "a job needs 'endpoint', the image it runs")
    data, env = _environments(raw.get("environments"), f"{path}.environments", report)
    body: dict[str, Any] = {"image": image, "data": data, "env": env,
                            "outputs": _outputs(raw.get("outputs"), f"{path}.outputs", report)}
    timeout = _seconds(raw.get("timeout"), f"{path}.timeout", report)
    if timeout is not None:
        body["timeout"] = timeout
    resources = _resources(raw.get("resources"), f"{path}.resources", report)
    if resources:
        body["resources"] = resources
    links = _subscriptions(raw.get("subscriptions"), f"{path}.subscriptions", report)
    return _ImportedJob(path, place, position, _text(raw.get("name")) or None, image, body, links)


def _environments(raw: object, path: str,
                  report: _Report) -> tuple[dict[str, str | int | float | bool], dict[str, str]]:
    data: dict[str, str | int | float | bool] = {}
    env: dict[str, str] = {}
    for entry_path, name, value in _entries(raw, path, report):
        if name == "CO_DATA":
            data.update(_co_data(value, entry_path, report))
        elif name in RESERVED_VARIABLES:
            report.warn(entry_path, f"{name} is reserved for ContainerOps; skipped")
        else:
            env[name] = _text(value)
    return data, env


def _co_data(raw: object, path: str, report: _Report) -> dict[str, str | int | float | bool]:
    if isinstance(raw, dict):
        pairs = [(str(key), value) for key, value in raw.items()]
    else:
        try:
            words = shlex.split(_text(raw))
        except ValueError as exc:
            report.problem(path, f"CO_DATA is not valid shell-quoted key=value words: {exc}")
            return {}
        pairs = []
        for word in words:
            key, sep, value = word.partition("=")
            if sep:
                pairs.append((key, value))
            else:
                report.warn(path, f"word '{word}' in CO_DATA has no '='; skipped")
    data: dict[str, str | int | float | bool] = {}
    for key, value in pairs:
        if not _KEY.match(key) or variable_for_key(key) in RESERVED_VARIABLES:
            report.problem(path, f"'{key}' cannot be a data key (letters, digits, '_', '-'; "
                                 "not one that sets a reserved CO_ variable)")
        else:
            data[key] = value if isinstance(value, str | int | float | bool) else _text(value)
    return data


def _outputs(raw: object, path: str, report: _Report) -> list[str]:
    items = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    if raw is not None and not isinstance(raw, str | list):
        report.problem(path, "'outputs' must be a list of output names")
    outputs: list[str] = []
    for index, item in enumerate(items):
        name = _text(item)
        if not _KEY.match(name):
            report.problem(f"{path}[{index}]", f"'{name}' is not an output name "
                                               "(letters, digits, '_' and '-')")
        elif name not in outputs:
            outputs.append(name)
    return outputs


def _resources(raw: object, path: str, report: _Report) -> dict[str, Any]:
    """Resource limits are best effort: a value that cannot be read is dropped with a warning."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        report.warn(path, "'resources' is not a mapping; dropped")
        return {}
    resources: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "cpu":
            cpu = _cpu(value)
            if cpu is None:
                report.warn(f"{path}.cpu", f"cpu '{value}' is not a number up to 64; dropped")
            else:
                resources["cpu_limit"] = cpu
        elif key == "memory":
            memory = _memory(value, f"{path}.memory", report)
            if memory is not None:
                resources["memory_limit"] = memory
        else:
            report.warn(f"{path}.{key}", "unknown resource; dropped")
    return resources


def _cpu(value: object) -> float | None:
    text = _text(value).strip()
    try:
        cpu = float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    except ValueError:
        return None
    return cpu if 0 < cpu <= 64 and not isinstance(value, bool) else None


def _memory(value: object, path: str, report: _Report) -> str | None:
    text = _text(value).strip()
    with suppress(ValueError):
        parse_memory(text)
        return text
    docker_style = _DOCKER_MEMORY.match(text)  # Docker reads 4g / 512m as binary units
    if docker_style:
        converted = f"{docker_style.group(1)}{docker_style.group(2).upper()}i"
        report.warn(path, f"memory '{text}' read as {converted}")
        return converted
    report.warn(path, f"memory '{text}' is not a quantity like 512Mi or 4G; dropped")
    return None


def _seconds(raw: object, path: str, report: _Report) -> int | float | None:
    """A legacy timeout: seconds (or a duration text); 0 or absent means none."""
    try:
        seconds = parse_duration(raw if isinstance(raw, str | int | float) else _text(raw) or "0")
    except ValueError as exc:
        report.problem(path, str(exc))
        return None
    if seconds == 0:
        return None
    return int(seconds) if seconds.is_integer() else seconds


# --- subscriptions and names ---------------------------------------------------------------

def _subscriptions(raw: object, path: str, report: _Report) -> list[_Link]:
    links: list[_Link] = []
    for entry_path, source, target in _entries(raw, path, report):
        match = _SUBSCRIPTION.match(source.strip())
        target_name = _text(target).strip()
        if match is None:
            report.problem(entry_path, f"'{source}' is not a subscription like "
                                       "<stage>.<action>.<job>[KEY]")
        elif not _KEY.match(match["output"]):
            report.problem(entry_path, f"'{match['output']}' is not an output name")
        elif not _valid_target(target_name):
            report.problem(entry_path, f"'{target_name}' cannot receive a subscription: give a "
                                       "variable name that is not reserved")
        else:
            links.append(_Link(entry_path, match["stage"], match["action"], match["job"].strip(),
                               match["output"], target_name))
    return links


def _name_jobs(jobs: list[_ImportedJob], report: _Report) -> None:
    """Named jobs keep their names first; the others are then named after their images."""
    taken: set[str] = set()
    for job in jobs:
        if job.given_name is not None:
            wanted = _job_slug(job.given_name) or "job"
            job.body["name"] = _renamed(job.given_name, wanted, taken, f"{job.path}.name", report)
    for job in jobs:
        if job.given_name is None:
            job.body["name"] = _unique(_job_slug(_image_name(job.image)) or "job", taken)
            report.warn(job.path, f"job has no name; named '{job.name}' after its image")


def _link(job: _ImportedJob, link: _Link, jobs: list[_ImportedJob], report: _Report) -> None:
    source = _resolve(link, jobs, report)
    if source is None:
        return
    if not source.finishes_before(job):
        report.problem(link.path, f"job '{link.job}' has not finished when this job starts: "
                                  "it must run in an earlier stage or earlier in the same action")
        return
    if link.output not in source.body["outputs"]:
        source.body["outputs"].append(link.output)
        report.warn(f"{source.path}.outputs", f"output '{link.output}' is subscribed to but not "
                                              "listed; added")
    reference = f"${{{{ jobs.{source.name}.outputs.{link.output} }}}}"
    key = _data_key(link.target)
    if key is not None:
        if key in job.body["data"]:
            report.warn(link.path, f"the subscription replaces CO_DATA's '{key}'")
        job.body["data"][key] = reference
    else:
        job.body["env"][link.target] = reference


def _resolve(link: _Link, jobs: list[_ImportedJob], report: _Report) -> _ImportedJob | None:
    def named(candidates: list[_ImportedJob]) -> list[_ImportedJob]:
        by_name = [j for j in candidates if link.job in (j.given_name, j.name)]
        return by_name or [j for j in candidates if link.job in (_image_name(j.image), j.image)]

    here = named([j for j in jobs
                  if (j.place.legacy_stage, j.place.legacy_action) == (link.stage, link.action)])
    found = here or named(jobs)
    if len(found) == 1:
        if not here:
            report.warn(link.path, f"no job '{link.job}' in {link.stage}.{link.action}; "
                                   f"linked to '{found[0].name}' at {found[0].path}")
        return found[0]
    if found:
        report.problem(link.path, f"'{link.job}' could be any of {len(found)} jobs "
                                  f"({', '.join(j.path for j in found)}); give them names")
    else:
        report.problem(link.path, f"no job '{link.job}' in stage '{link.stage}', "
                                  f"action '{link.action}', nor anywhere else in the flow")
    return None


def _data_key(target: str) -> str | None:
    """The data key that makes the engine set `target` (`CO_XML_CONTENT` → `xml-content`)."""
    return target[3:].lower().replace("_", "-") if target.startswith("CO_") else None


def _valid_target(name: str) -> bool:
    if name in RESERVED_VARIABLES or not _PLAIN_KEY.match(name):
        return False
    key = _data_key(name)
    return key is None or bool(_KEY.match(key))


def _renamed(legacy: str, wanted: str, taken: set[str], path: str, report: _Report) -> str:
    name = _unique(wanted, taken)
    if name != legacy:
        report.warn(path, f"'{legacy}' renamed to '{name}'")
    return name


def _unique(base: str, taken: set[str]) -> str:
    name, counter = base[:MAX_NAME_LENGTH], 1
    while name in taken:
        counter += 1
        suffix = f"-{counter}"
        name = base[:MAX_NAME_LENGTH - len(suffix)].rstrip("-_") + suffix
    taken.add(name)
    return name


def _image_name(image: str) -> str:
    """`hub.opshub.sh/containerops/pytest:latest` → `pytest`."""
    return image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:MAX_NAME_LENGTH].rstrip("-")


def _job_slug(text: str) -> str:
    return re.sub(r"^[^A-Za-z0-9]+", "", re.sub(r"[^A-Za-z0-9_-]+", "-", text))[:MAX_NAME_LENGTH]


# --- shapes -------------------------------------------------------------------------------

def _entries(raw: object, path: str, report: _Report) -> list[tuple[str, str, object]]:
    """(path, key, value) of a plain map, or of a list of one-key maps or KEY=VALUE strings."""
    if raw is None:
        return []
    if isinstance(raw, dict):
        return [(_key_path(path, str(key)), str(key), value) for key, value in raw.items()]
    if not isinstance(raw, list):
        report.problem(path, "expected a list of one-key maps, or a map")
        return []
    entries: list[tuple[str, str, object]] = []
    for index, item in enumerate(raw):
        item_path = f"{path}[{index}]"
        if isinstance(item, dict):
            entries += [(_key_path(item_path, str(k)), str(k), v) for k, v in item.items()]
        elif isinstance(item, str) and "=" in item:
            key, _, value = item.partition("=")
            entries.append((item_path, key.strip(), value))
        else:
            report.problem(item_path, "expected a one-key map like {NAME: value}")
    return entries


def _key_path(path: str, key: str) -> str:
    return f"{path}.{key}" if _PLAIN_KEY.match(key) else f'{path}["{key}"]'


def _ignore_unknown(raw: dict[str, Any], known: set[str], path: str, report: _Report) -> None:
    """Warn about fields the import does not know; count titles below the flow (no home)."""
    if path and raw.get("title"):
        report.dropped_titles += 1
    unknown = sorted(str(key) for key in raw if key not in known)
    if unknown:
        report.warn(path, f"unknown field(s) ignored: {', '.join(unknown)}")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
