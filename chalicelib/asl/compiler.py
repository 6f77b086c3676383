"""The workflow -> Step Functions compiler: build the plan, render it, measure it, check it.

`compile_workflow` is what callers use: the plan (`build`), its ASL definition
(`render`), the figures the limits are checked against (`limits`), and a refusal as
InvalidDefinition when the machine would pass a Step Functions limit. The steps stay
apart so a caller (the benchmark, `compile --check`) can build and measure a machine that
the limits then refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.asl.build import build_machine
from chalicelib.asl.limits import MachineFigures, check_limits, measure
from chalicelib.asl.plan import MachinePlan, Target
from chalicelib.asl.render import definition_text, render_machine
from chalicelib.domain.catalog import ComponentCatalog
from chalicelib.domain.models import Workflow


@dataclass(frozen=True)
class CompiledMachine:
    plan: MachinePlan
    definition: dict[str, Any]
    text: str  # the compact JSON to deploy: what the size limit is measured on
    figures: MachineFigures


def build_compiled(workflow: Workflow, catalog: ComponentCatalog, target: Target) -> CompiledMachine:
    """The machine and its figures, whether or not the limits allow it."""
    plan = build_machine(workflow, catalog, target)
    definition = render_machine(plan)
    text = definition_text(definition)
    return CompiledMachine(plan, definition, text, measure(plan, text))


def compile_workflow(workflow: Workflow, catalog: ComponentCatalog, target: Target) -> CompiledMachine:
    """The workflow's state machine; InvalidDefinition when it passes a Step Functions limit."""
    compiled = build_compiled(workflow, catalog, target)
    check_limits(compiled.figures, workflow.ref)
    return compiled
