"""Reading CloudFormation templates the way the infra tests need: the merge template as
written, the packaged template as `chalice package` makes it, the functions and what SAM's
Globals give them, the IAM statements each role is granted (inline or through managed
policies), and the references inside any of them. Nothing here knows what a particular
resource should be; the tests say that."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MERGE_TEMPLATE = ROOT / "infra" / "template.json"
CHALICE_CONFIG = ROOT / ".chalice" / "config.json"

Template = dict[str, Any]
NO_VALUE = {"Ref": "AWS::NoValue"}

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
ROLE = "AWS::IAM::Role"
POLICY_TYPES = ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")

# `${Name}` or `${Name.Attribute}` inside an Fn::Sub string.
SUB_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9:]+)(?:\.[A-Za-z0-9.]+)?\}")
# The name prefix that job images and job secrets live under (not resources of the stack).
NAME_PREFIX = "containerops/"
# The name prefix of what is made at run time: state machines, their executions, task
# definition families.
RUNTIME_PREFIX = "containerops-"
NAME_PREFIXES = (NAME_PREFIX, RUNTIME_PREFIX)
# The only wildcards an ARN may end with: everything of one kind under a name prefix, the
# tasks of a cluster the stack makes, or the runs' objects of a bucket it makes. Before the
# tail, nothing but named parts.
WILDCARD_TAILS = (
    re.compile(r":repository/containerops/\*$"),
    re.compile(r":secret:containerops/\*$"),
    re.compile(r":stateMachine:\$\{MachineNamePrefix\}-\*$"),  # the stack's own machines
    re.compile(r":execution:\$\{MachineNamePrefix\}-\*:\*$"),  # every execution of those machines
    re.compile(r":execution:\$\{MachineNamePrefix\}-\*/\*$"),  # their Distributed Maps' child executions
    re.compile(r":task-definition/containerops-\*$"),  # every family, every revision
    re.compile(r":task/\$\{[A-Za-z0-9]+\}/\*$"),  # every task of one cluster of the stack
    re.compile(r"^\$\{[A-Za-z0-9]+\.Arn\}/runs/\*$"),  # the runs' workspace layers of a bucket of the stack
    re.compile(r"^\$\{[A-Za-z0-9]+\.Arn\}/runs/\*/fanout/\*$"),  # the runs' fan-out items in it
)


def load_merge_template() -> Template:
    template: Template = json.loads(MERGE_TEMPLATE.read_text(encoding="utf-8"))
    return template


def package_without_dependencies(workdir: Path) -> Template:
    """`chalice package --merge-template` run on a copy of the app without requirements.txt:
    the template is the same as `make package` makes (it does not depend on the bundled
    libraries), but nothing is downloaded, so it takes half a second and needs no network."""
    project = workdir / "project"
    project.mkdir()
    shutil.copy2(ROOT / "app.py", project / "app.py")
    shutil.copytree(ROOT / "chalicelib", project / "chalicelib",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (project / ".chalice").mkdir()
    shutil.copy2(CHALICE_CONFIG, project / ".chalice" / "config.json")
    out = workdir / "package"
    chalice = Path(sys.executable).parent / "chalice"
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    subprocess.run(
        [str(chalice), "--project-dir", str(project), "package",
         "--merge-template", str(MERGE_TEMPLATE), str(out)],
        check=True, capture_output=True, text=True, env=env, timeout=120,
    )
    template: Template = json.loads((out / "sam.json").read_text(encoding="utf-8"))
    return template


@dataclass(frozen=True)
class Statement:
    owner: str  # logical id of the resource whose policy holds the statement
    body: dict[str, Any]
    condition: str | None = None  # the stack condition it exists under (an Fn::If around it)

    @property
    def sid(self) -> str:
        return str(self.body.get("Sid", ""))

    @property
    def actions(self) -> list[str]:
        return as_list(self.body.get("Action", [])) + as_list(self.body.get("NotAction", []))

    @property
    def resources(self) -> list[Any]:
        return as_list(self.body.get("Resource", []))

    def __str__(self) -> str:
        return f"{self.owner}/{self.sid or '(no Sid)'}"


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(template: Template) -> Iterator[Statement]:
    """Every IAM statement anywhere in the template: role policies, trust policies, managed
    policies, queue and bucket policies alike."""
    for logical_id, resource in template.get("Resources", {}).items():
        yield from _statements_in(logical_id, resource.get("Properties", {}))


def _statements_in(owner: str, node: Any) -> Iterator[Statement]:
    if isinstance(node, dict):
        found = node.get("Statement")
        if isinstance(found, (list, dict)):
            for body in as_list(found):
                yield from _conditional_statement(owner, body)
        for value in node.values():
            yield from _statements_in(owner, value)
    elif isinstance(node, list):
        for value in node:
            yield from _statements_in(owner, value)


def _conditional_statement(owner: str, body: Any) -> Iterator[Statement]:
    """A statement, or the one an `Fn::If [condition, statement, AWS::NoValue]` holds."""
    if isinstance(body, dict) and set(body) == {"Fn::If"}:
        condition, present, absent = body["Fn::If"]
        assert absent == NO_VALUE, f"{owner}: a conditional statement must be absent otherwise"
        yield Statement(owner, present, condition)
    else:
        yield Statement(owner, body)


def permission_statements(template: Template) -> list[Statement]:
    """Statements that grant something (trust policies name a principal, not a resource)."""
    return [s for s in statements(template) if "Principal" not in s.body]


def referenced_resources(value: Any) -> set[str]:
    """Logical ids a Ref, Fn::GetAtt or Fn::Sub names (pseudo parameters left out)."""
    if isinstance(value, dict) and len(value) == 1:
        (function, argument), = value.items()
        if function == "Ref" and isinstance(argument, str):
            return set() if argument.startswith("AWS::") else {argument}
        if function == "Fn::GetAtt":
            name = argument[0] if isinstance(argument, list) else str(argument).split(".")[0]
            return {name}
        if function == "Fn::Sub":
            text = argument[0] if isinstance(argument, list) else argument
            return {n for n in SUB_PLACEHOLDER.findall(text) if not n.startswith("AWS::")}
    if isinstance(value, dict):
        return set().union(*(referenced_resources(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(referenced_resources(v) for v in value))
    return set()


def unnamed_reason(resource: Any, template: Template) -> str | None:
    """Why an IAM Resource entry does not name something precisely, or None when it does.
    Named means: a Ref / GetAtt / Sub of the template's own resources (or parameters, which
    the operator chooses once for the stack, such as its machines' name prefix), or an ARN
    whose only wildcard is one of WILDCARD_TAILS (a kind of thing under a name prefix, or the
    tasks of a cluster of the stack) and nothing broader."""
    own = set(template.get("Resources", {})) | set(template.get("Parameters", {}))
    if isinstance(resource, str):
        return f"{resource!r} is a literal, not a reference to the stack's resources"
    if not isinstance(resource, dict) or len(resource) != 1:
        return f"{resource!r} is not a single intrinsic function"
    (function, argument), = resource.items()
    names = referenced_resources(resource)
    unknown = names - own
    if unknown:
        return f"{resource!r} refers to {sorted(unknown)}, which the template does not declare"
    if function in ("Ref", "Fn::GetAtt"):
        return None if names else f"{resource!r} names no resource"
    if function != "Fn::Sub":
        return f"{resource!r} is built with {function}, not Ref / GetAtt / Sub"
    text = argument[0] if isinstance(argument, list) else argument
    if "*" not in text:
        return None if names else f"{text!r} names none of the stack's resources"
    for tail in WILDCARD_TAILS:
        match = tail.search(text)
        if match and "*" not in text[:match.start()]:
            return None
    return f"{text!r} has a wildcard other than a name prefix's or a stack cluster's tasks"


def functions(template: Template) -> dict[str, dict[str, Any]]:
    """The template's Lambda functions (SAM's), by logical id."""
    return {name: resource for name, resource in template.get("Resources", {}).items()
            if resource.get("Type") == SERVERLESS_FUNCTION}


def own_environment(template: Template, function: str) -> dict[str, Any]:
    """The variables a function sets itself, without what SAM's Globals add."""
    variables: dict[str, Any] = (
        template["Resources"][function].get("Properties", {}).get("Environment", {}).get("Variables", {})
    )
    return variables


def global_environment(template: Template) -> dict[str, Any]:
    variables: dict[str, Any] = (
        template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    return variables


def function_environment(template: Template, function: str = "APIHandler") -> dict[str, Any]:
    """The environment the function is deployed with: SAM merges the Globals' variables into
    the function's own, the function's value winning where both set one."""
    return {**global_environment(template), **own_environment(template, function)}


def resource_for_variable(template: Template, variable: str) -> tuple[str, dict[str, Any]]:
    """The resource an API environment variable names through Ref or GetAtt."""
    names = referenced_resources(function_environment(template)[variable])
    assert len(names) == 1, f"{variable} should name exactly one resource, names {sorted(names)}"
    (name,) = names
    resource: dict[str, Any] = template["Resources"][name]
    return name, resource


def function_role(template: Template, function: str) -> str:
    """The logical id of the role a function runs as (a GetAtt of its Arn)."""
    role = template["Resources"][function]["Properties"]["Role"]
    assert isinstance(role, dict) and set(role) == {"Fn::GetAtt"}, f"{function} runs as {role!r}"
    (name,) = referenced_resources(role)
    return name


def role_statements(template: Template, role: str) -> list[Statement]:
    """Every statement that grants the role something: its inline policies, the managed
    policies it lists, and any policy resource that names it in its Roles."""
    resources = template["Resources"]
    attached = set().union(*(referenced_resources(arn) for arn in
                             resources[role].get("Properties", {}).get("ManagedPolicyArns", [])))
    for name, resource in resources.items():
        if resource.get("Type") in POLICY_TYPES and role in referenced_resources(
                resource.get("Properties", {}).get("Roles", [])):
            attached.add(name)
    return [s for s in permission_statements(template) if s.owner == role or s.owner in attached]


def log_group_of(template: Template, function: str) -> str:
    """The log group a function's LoggingConfig sends its own logs to."""
    logging = template["Resources"][function]["Properties"]["LoggingConfig"]
    (group,) = referenced_resources(logging["LogGroup"])
    return group


def conditions(template: Template, parameters: dict[str, str] | None = None) -> dict[str, bool]:
    """Each of the template's conditions as CloudFormation evaluates it for these parameter
    values (the others at their defaults). Only what the template's conditions use is known:
    Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition, and Refs of parameters."""
    values = {name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()}
    values.update(parameters or {})
    declared: dict[str, Any] = template.get("Conditions", {})

    def value(node: Any) -> Any:
        if isinstance(node, dict) and set(node) == {"Ref"}:
            return values[node["Ref"]]
        if isinstance(node, dict) and len(node) == 1:
            (function, argument), = node.items()
            if function == "Fn::Equals":
                return value(argument[0]) == value(argument[1])
            if function == "Fn::Not":
                return not value(argument[0])
            if function == "Fn::And":
                return all(value(a) for a in argument)
            if function == "Fn::Or":
                return any(value(a) for a in argument)
            if function == "Condition":
                return value(declared[argument])
        if isinstance(node, str):
            return node
        raise AssertionError(f"a condition the tests cannot evaluate: {node!r}")

    return {name: bool(value(body)) for name, body in declared.items()}


def existing(template: Template, parameters: dict[str, str] | None = None) -> set[str]:
    """The logical ids of the resources CloudFormation makes for these parameter values."""
    holds = conditions(template, parameters)
    return {name for name, resource in template.get("Resources", {}).items()
            if holds.get(resource.get("Condition", ""), True)}
