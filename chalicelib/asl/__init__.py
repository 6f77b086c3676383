"""Compiling workflows to Step Functions state machines (ASL): pure code, the plan as data.

`compile_workflow(workflow, catalog, Target(queue_url))` gives the definition to deploy;
`build` fixes the shape, `render` writes the ASL, `limits` refuses what AWS would refuse.
"""

from chalicelib.asl.compiler import CompiledMachine, build_compiled, compile_workflow
from chalicelib.asl.limits import MachineFigures
from chalicelib.asl.plan import Target

__all__ = ["CompiledMachine", "MachineFigures", "Target", "build_compiled", "compile_workflow"]
