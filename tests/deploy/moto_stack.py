"""The packaged template made creatable on moto 5.2.5's CloudFormation, which neither expands
SAM nor has a model for every resource type the stack uses.

SAM is expanded with `aws-sam-translator`, as CloudFormation's transform would. The types moto
cannot create are listed below with what stands in for them: the three the deploy itself
reads afterwards (the token secret, the log cursor key and the designer's distribution) are
made through their services' own APIs on the same moto, and every reference to them is
replaced by what those calls return; the others nothing reads back, and they are checked by
cfn-lint and tests/infra instead. moto also wants a REST API's `Name`, which AWS takes from
the imported definition's title: the title is given as the name.

moto 5.2.5 keeps a resource whose `Condition` is false as an empty entry of the stack, which
breaks its DescribeStackResource and ListStackResources; so the resources (and outputs) whose
condition is false for the stack's parameters are left out here, as CloudFormation leaves
them out (the EKS resources of a stack without `EksClusterName`)."""

from __future__ import annotations

import copy
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from samtranslator.translator.transform import transform

from tests.infra.templates import conditions

Template = dict[str, Any]

MOTO_CANNOT_CREATE = {
    "AWS::SecretsManager::Secret": "no CloudFormation model in moto: made with CreateSecret instead",
    "AWS::CloudFront::Distribution": "no CloudFormation model in moto: made with CreateDistribution instead",
    "AWS::CloudFront::OriginAccessControl": "no CloudFormation model in moto (only the distribution uses it)",
    "AWS::S3::BucketPolicy": "no CloudFormation model in moto (tests/infra checks it)",
    "AWS::ApiGateway::Stage": "no CloudFormation model in moto (Chalice's EndpointURL names the stage)",
    "AWS::Lambda::EventInvokeConfig": "no CloudFormation model in moto (checked by tests/infra)",
    "AWS::Logs::SubscriptionFilter": "no CloudFormation model in moto (and a moto subscription would run the"
                                     " function on Docker: AWS-TESTING.md)",
    "AWS::EKS::AccessEntry": "no CloudFormation model in moto, nor access entries in its EKS (only with an"
                             " EKS cluster; checked by tests/infra)",
    "AWS::EKS::PodIdentityAssociation": "no CloudFormation model in moto (only with an EKS cluster;"
                                        " checked by tests/infra)",
}
# moto has a model for this one, but its RestApi model ignores `Body` (Chalice's swagger), so the
# API has no methods and moto refuses to deploy an API without methods.
MOTO_CANNOT_DEPLOY = {
    "AWS::ApiGateway::Deployment": "moto's RestApi ignores Body, and a deployment needs the API's methods",
}
LEFT_OUT = {**MOTO_CANNOT_CREATE, **MOTO_CANNOT_DEPLOY}
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.([A-Za-z0-9.]+))?\}")


class NoManagedPolicies:
    """The translator's loader of AWS managed policy ARNs: the stack uses none (tests/infra)."""

    def load(self) -> dict[str, str]:
        return {}


def expanded(template: Template) -> Template:
    """SAM's resources as plain CloudFormation, as CAPABILITY_AUTO_EXPAND would make them."""
    result: Template = transform(copy.deepcopy(template), {}, NoManagedPolicies())
    return result


@dataclass
class MotoStandIns:
    """Makes the resources moto's CloudFormation cannot (once: a second deploy reuses them) and
    rewrites the template without them. `clients` are AwsClients on the same moto."""

    clients: Any
    stack: str
    made: dict[str, dict[str, str]] = field(default_factory=dict)  # logical id → {"Ref": ..., attr: ...}
    parameters: dict[str, str] = field(default_factory=dict)  # the stack's, for its conditions

    def prepare(self, template: Template) -> Template:
        result = expanded(template)
        resources: dict[str, Any] = result["Resources"]
        holds = conditions(result, self.parameters)
        absent = {name for name, body in resources.items() if not holds.get(body.get("Condition", ""), True)}
        for name in absent:
            del resources[name]
        outputs: dict[str, Any] = result.get("Outputs", {})
        for name in [n for n, output in outputs.items() if not holds.get(output.get("Condition", ""), True)]:
            del outputs[name]
        dropped = {name for name, body in resources.items() if body["Type"] in LEFT_OUT}
        for name in sorted(dropped):
            if name not in self.made:
                self.made[name] = self._make(name, resources[name])
        for name in dropped:
            del resources[name]
        for body in resources.values():
            properties = body.get("Properties", {})
            if body["Type"] == "AWS::ApiGateway::RestApi" and "Name" not in properties:
                # AWS names an API imported from a Body by the definition's title; moto wants Name.
                properties["Name"] = properties["Body"]["info"]["title"]
        for body in resources.values():
            depends = body.get("DependsOn")
            if isinstance(depends, list):
                body["DependsOn"] = [d for d in depends if d not in dropped | absent]
            elif isinstance(depends, str) and depends in dropped | absent:
                del body["DependsOn"]
        replaced: Template = _replace(result, {k: v for k, v in self.made.items() if k in dropped})
        left = [name for name in dropped if f'"{name}"' in json.dumps(replaced["Resources"])]
        assert not left, f"references to resources moto cannot create remain: {left}"
        return replaced

    def _make(self, name: str, body: dict[str, Any]) -> dict[str, str]:
        kind, properties = body["Type"], body.get("Properties", {})
        if kind == "AWS::SecretsManager::Secret":
            value = properties.get("SecretString") or secrets.token_hex(32)
            secret = self.clients.secretsmanager.create_secret(Name=f"{self.stack}-{name}",
                                                               SecretString=value)
            return {"Ref": secret["ARN"], "Id": secret["ARN"]}
        if kind == "AWS::CloudFront::Distribution":
            config = _distribution_config(self.stack)
            made = self.clients.cloudfront.create_distribution(DistributionConfig=config)["Distribution"]
            return {"Ref": made["Id"], "Id": made["Id"], "DomainName": made["DomainName"]}
        return {"Ref": f"{self.stack}-{name}-not-made-on-moto"}


def _distribution_config(stack: str) -> dict[str, Any]:
    origin = f"{stack}-designer"
    return {
        "CallerReference": origin, "Comment": "stand-in for DesignerDistribution", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{
            "Id": origin, "DomainName": f"{origin}.example.test",
            "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": origin, "ViewerProtocolPolicy": "redirect-to-https",
                                 "TrustedSigners": {"Enabled": False, "Quantity": 0},
                                 "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                                 "MinTTL": 0},
    }


def _replace(node: Any, values: dict[str, dict[str, str]]) -> Any:
    if isinstance(node, list):
        return [_replace(item, values) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"} and node["Ref"] in values:
        return values[node["Ref"]]["Ref"]
    if set(node) == {"Fn::GetAtt"}:
        target = node["Fn::GetAtt"]
        name, attribute = target if isinstance(target, list) else target.split(".", 1)
        if name in values:
            return values[name][attribute]
    if set(node) == {"Fn::Sub"}:
        sub = node["Fn::Sub"]
        text, variables = (sub, {}) if isinstance(sub, str) else (sub[0], sub[1])

        def known(match: re.Match[str]) -> str:
            name, attribute = match.group(1), match.group(2) or "Ref"
            return values[name][attribute] if name in values else match.group(0)

        text = PLACEHOLDER.sub(known, text)
        return {"Fn::Sub": text if not variables else [text, _replace(variables, values)]}
    return {key: _replace(value, values) for key, value in node.items()}
