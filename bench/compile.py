"""Cost of compiling workflows to Step Functions state machines, against loading them, in one run.

Workflows of 10, 100, 1,000 and 5,000 jobs are generated the way real ones look: several
stages (every fourth one `sequencing: sequence`), actions of about three jobs, a third
of the jobs on components (with their own timeouts and inputs), data links from each
stage's first jobs to outputs of the stage before, some `if` conditions, retries on
every fourth job and `continue_on_error` on every tenth. For each size this prints,
as medians over the rounds: the time to load and validate the definition text the way
the CLI does (`parse_document` + `check_workflow`), the time to compile it (build the
plan, render the ASL, serialise and measure it), their ratio, the definition's size in
bytes, its state count and worst-case history events, and whether Step Functions'
limits refuse it (checked after the compile, which is measured either way). Loading is
timed from YAML (as users write it; the loader refuses a text over 1 MiB, so the largest
workflow has none) and from compact JSON (as the API receives it). Target: a 1,000-job
workflow compiles in under 100 ms.

    .venv/bin/python bench/compile.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml

from chalicelib.asl import Target, build_compiled
from chalicelib.asl.limits import MAX_DEFINITION_BYTES, MAX_HISTORY_EVENTS, MachineFigures, limit_problems
from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.domain.loading import MAX_DEFINITION_BYTES as MAX_TEXT_BYTES
from chalicelib.domain.loading import parse_document
from chalicelib.domain.models import Component, Workflow
from chalicelib.domain.validation import check_workflow

SIZES = (10, 100, 1_000, 5_000)
TARGET_JOBS, TARGET_SECONDS = 1_000, 0.100
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/containerops-launch"
JOBS_PER_ACTION = 3
COMPONENTS = [("build", "10m"), ("test", "30m"), ("scan", "5m")]


def components() -> list[Component]:
    return [Component.model_validate({
        "metadata": {"namespace": "bench", "name": name, "version": "1.0.0"},
        "spec": {"image": f"bench/{name}:1.0.0", "timeout": timeout,
                 "inputs": [{"name": "source", "required": True}, {"name": "level", "default": "1"}],
                 "outputs": [{"name": "RESULT"}]},
    }) for name, timeout in COMPONENTS]


def generated(jobs: int) -> dict[str, Any]:
    """A workflow document of `jobs` jobs in the shape described in the module docstring."""
    stages = max(3, round(math.sqrt(jobs) / 1.5))
    sizes = [jobs // stages + (1 if s < jobs % stages else 0) for s in range(stages)]
    previous: list[str] = []
    stage_documents, number = [], 0
    for s, size in enumerate(sizes):
        names = [f"s{s:03d}-job-{i:04d}" for i in range(size)]
        job_documents = []
        for i, name in enumerate(names):
            job_documents.append(job(name, number, previous[i % len(previous)] if previous else None))
            number += 1
        actions = [{"name": f"a{a:03d}", "jobs": job_documents[a:a + JOBS_PER_ACTION]}
                   for a in range(0, size, JOBS_PER_ACTION)]
        stage_documents.append({"name": f"stage-{s:03d}", "actions": actions,
                                **({"sequencing": "sequence"} if s % 4 == 3 else {})})
        previous = names
    return {"apiVersion": "containerops/v1", "kind": "Workflow",
            "metadata": {"namespace": "bench", "name": f"compile-{jobs}"},
            "spec": {"timeout": "4h", "params": [{"name": "branch", "default": "main"}],
                     "stages": stage_documents}}


def job(name: str, number: int, upstream: str | None) -> dict[str, Any]:
    link = f"${{{{ jobs.{upstream}.outputs.RESULT }}}}" if upstream else "${{ params.branch }}"
    document: dict[str, Any] = {"name": name}
    if number % 3 == 0:
        document["component"] = f"bench/{COMPONENTS[number % len(COMPONENTS)][0]}@1.0.0"
        document["data"] = {"source": link}
    else:
        document.update(image="bench/tool:1", command=["run", name], data={"source": link},
                        outputs=["RESULT"], timeout="15m")
    if number % 4 == 1:
        document["retries"] = {"limit": 2, "backoff": "10s"}
    if number % 10 == 7:
        document["continue_on_error"] = True
    if upstream and number % 9 == 5:
        document["if"] = f"${{{{ jobs.{upstream}.outputs.RESULT == 'ok' }}}}"
    return document


def texts(document: dict[str, Any]) -> dict[str, str | None]:
    """The definition as YAML (None when over the loader's size limit) and as compact JSON."""
    yaml_text = yaml.safe_dump(document, sort_keys=False)
    return {"yaml": yaml_text if len(yaml_text.encode()) <= MAX_TEXT_BYTES else None,
            "json": json.dumps(document, separators=(",", ":"))}


def median_time(action: Callable[[], object], rounds: int) -> float:
    timings = []
    for _ in range(rounds):
        began = time.perf_counter()
        action()
        timings.append(time.perf_counter() - began)
    return statistics.median(timings)


def load_and_validate(text: str, catalog: InMemoryCatalog) -> Workflow:
    checked = check_workflow(parse_document(text, "bench"), catalog)
    if checked.model is None:
        raise SystemExit(f"the generated workflow is invalid: {checked.problems[:3]}")
    return checked.model


def milliseconds(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


def ratio(compiling: float, loading: float | None) -> str:
    return "-" if loading is None else f"{compiling / loading:.2f}"


def verdict(figures: MachineFigures) -> str:
    if not limit_problems(figures):
        return "deployable"
    over = []
    if figures.definition_bytes > MAX_DEFINITION_BYTES:
        over.append(f"size +{figures.definition_bytes - MAX_DEFINITION_BYTES:,} B")
    if figures.worst_case_events > MAX_HISTORY_EVENTS:
        over.append(f"events +{figures.worst_case_events - MAX_HISTORY_EVENTS:,}")
    return "refused: " + ", ".join(over)


def measure_size(jobs: int, catalog: InMemoryCatalog, target: Target, rounds: int) -> float:
    """Print one row of figures for a workflow of `jobs` jobs; return its compile time."""
    document = generated(jobs)
    sizes: dict[str, str] = {}
    loading: dict[str, float | None] = {}
    for kind, text in texts(document).items():
        sizes[kind] = "over 1 MiB" if text is None else f"{len(text.encode()) / 1024:,.0f} KiB"
        loading[kind] = None if text is None else median_time(
            functools.partial(load_and_validate, text, catalog), rounds)
    workflow = load_and_validate(json.dumps(document), catalog)
    compiling = median_time(lambda: build_compiled(workflow, catalog, target), rounds)
    figures = build_compiled(workflow, catalog, target).figures  # limits checked apart, after
    print(f"  {jobs:>5,} {len(document['spec']['stages']):>6} {sizes['yaml']:>10}"
          f" {milliseconds(loading['yaml']):>9} {sizes['json']:>9} {milliseconds(loading['json']):>9}"
          f" {milliseconds(compiling):>9} {ratio(compiling, loading['yaml']):>6}"
          f" {ratio(compiling, loading['json']):>6} {figures.definition_bytes:>10,} B"
          f" {figures.states:>7,} {figures.worst_case_events:>7,}  {verdict(figures)}")
    return compiling


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    catalog, target = InMemoryCatalog(components()), Target(QUEUE_URL)
    print(f"compile vs load+validate, medians of {options.rounds} rounds; Step Functions' limits: "
          f"{MAX_DEFINITION_BYTES:,} B per definition, {MAX_HISTORY_EVENTS:,} events per execution")
    print(f"  {'':>12} {'load+validate from':>41} {'':>9} {'compile / load':>13}")
    print(f"  {'jobs':>5} {'stages':>6} {'yaml':>10} {'':>9} {'json':>9} {'':>9} {'compile':>9}"
          f" {'yaml':>6} {'json':>6} {'definition':>12} {'states':>7} {'events':>7}  limits")
    compile_times = {jobs: measure_size(jobs, catalog, target, options.rounds) for jobs in SIZES}
    measured = compile_times[TARGET_JOBS]
    met = "met" if measured < TARGET_SECONDS else "NOT met"
    print("  events: worst case, every job retried to its limit")
    print(f"  target: a {TARGET_JOBS:,}-job workflow compiles in under {TARGET_SECONDS * 1000:.0f} ms: "
          f"{met} ({measured * 1000:.1f} ms)")


if __name__ == "__main__":
    main()
