"""Turning a deployable template into one moto's CloudFormation can create.

moto's CloudFormation creates tables, queues, buses, rules, archives and topics faithfully. It
skips the rest: SAM and Lambda resources (Lambda cannot run locally anyway: the local stack
calls handlers in-process), Secrets Manager secrets, queue policies and alarms; and it drops a
table's TimeToLiveSpecification. This module keeps the first kind as they are and, for the
second kind, adds a stack output that asks moto to resolve the resource's properties
(`Fn::ToJsonString` of them, intrinsics included), so provisioning can apply them with boto3
from the template's own properties instead of a second definition. A resource type in none of
the lists below is refused, so nothing goes missing locally without a decision.

A resource applied with boto3 may name, by `Ref`, a resource that is not local on purpose (an
alarm on a function's metrics names the function): the `Ref` resolves to the logical id, which
is what the function stands for locally. Any other reference to something moto does not create
is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from clientela_local.cfn import Template, references

# Created by moto's CloudFormation as on AWS.
CREATED_BY_MOTO = frozenset(
    {
        "AWS::DynamoDB::Table",
        "AWS::Events::Archive",
        "AWS::Events::EventBus",
        "AWS::Events::Rule",
        "AWS::S3::Bucket",
        "AWS::SNS::Topic",
        "AWS::SQS::Queue",
    }
)

# Skipped by moto's CloudFormation; provision.py applies them with boto3.
APPLIED_WITH_BOTO3 = frozenset(
    {
        "AWS::CloudWatch::Alarm",
        "AWS::S3::BucketPolicy",
        "AWS::SES::EmailIdentity",
        "AWS::SecretsManager::Secret",
        "AWS::SQS::QueuePolicy",
        # moto's CloudFormation creates state machines where executing ones are not found.
        "AWS::StepFunctions::StateMachine",
    }
)

# Not created locally on purpose: the local stack runs handlers in-process and checks no IAM.
# Resources without a Type (a merge template completing what Chalice generates) are skipped too.
NOT_LOCAL_PREFIXES = (
    "AWS::Serverless::",
    "AWS::IAM::",
    "AWS::Lambda::",
    "AWS::ApiGateway::",
    # moto's SES neither publishes sending events nor receives mail: locally, SES's
    # notifications and replies are put on the queue and in the bucket by tests and curl.
    "AWS::SES::ConfigurationSet",
    "AWS::SES::Receipt",
    "AWS::SNS::Subscription",
)

# Outputs named with this prefix carry a resource for provision.py to apply.
APPLY_OUTPUT_PREFIX = "LocalApply"

# The properties moto's CloudFormation drops from a resource it otherwise creates.
_DROPPED_PROPERTIES = {
    "AWS::DynamoDB::Table": ("TimeToLiveSpecification",),
    # moto applies a bucket's encryption and tags only.
    "AWS::S3::Bucket": (
        "PublicAccessBlockConfiguration",
        "OwnershipControls",
        "LifecycleConfiguration",
        "CorsConfiguration",
        "NotificationConfiguration",
    ),
}


@dataclass(frozen=True)
class Applied:
    """A resource (or the dropped part of one) to apply with boto3 after the stack exists."""

    logical_id: str
    type: str
    properties: dict[str, Any]


def to_moto_template(template: Template) -> Template:
    """The part of `template` moto can hold, plus outputs describing what boto3 must apply."""
    source = template.get("Resources", {})
    _refuse_unknown_types(source)
    kept = {
        logical_id: resource
        for logical_id, resource in source.items()
        if resource.get("Type") in CREATED_BY_MOTO
    }
    outputs = {
        name: output
        for name, output in (template.get("Outputs") or {}).items()
        if set(references(output)) <= kept.keys()
    }
    not_local = {
        logical_id
        for logical_id, resource in source.items()
        if resource.get("Type") is None or resource["Type"].startswith(NOT_LOCAL_PREFIXES)
    }
    for logical_id, resource in source.items():
        applied = _to_apply(logical_id, resource)
        if applied is None:
            continue
        applied = _name_what_is_not_local(applied, not_local)
        missing = set(references(applied)) - kept.keys()
        if missing:
            raise ValueError(f"{logical_id} refers to {sorted(missing)}, which moto cannot create")
        outputs[f"{APPLY_OUTPUT_PREFIX}{logical_id}"] = {"Value": {"Fn::ToJsonString": applied}}

    moto_template: Template = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": kept}
    for section in ("Parameters", "Mappings", "Conditions"):
        if section in template:
            moto_template[section] = template[section]
    if outputs:
        moto_template["Outputs"] = outputs
    return moto_template


def _refuse_unknown_types(resources: dict[str, Any]) -> None:
    # A new resource type must be placed in one of the lists above: silently leaving it out
    # would make the local stack differ from AWS without anyone noticing.
    for logical_id, resource in resources.items():
        resource_type = resource.get("Type")
        if (
            resource_type is None
            or resource_type in CREATED_BY_MOTO
            or resource_type in APPLIED_WITH_BOTO3
            or resource_type.startswith(NOT_LOCAL_PREFIXES)
        ):
            continue
        raise ValueError(
            f"{logical_id}: no local provisioning for {resource_type}; add it to "
            "CREATED_BY_MOTO, APPLIED_WITH_BOTO3 (with an applier in provision.py) or "
            "NOT_LOCAL_PREFIXES in clientela_local/moto_template.py"
        )


def _to_apply(logical_id: str, resource: dict[str, Any]) -> dict[str, Any] | None:
    resource_type = resource.get("Type", "")
    properties = resource.get("Properties", {})
    if resource_type in APPLIED_WITH_BOTO3:
        return {"LogicalId": logical_id, "Type": resource_type, "Properties": properties}
    dropped = {
        name: properties[name]
        for name in _DROPPED_PROPERTIES.get(resource_type, ())
        if name in properties
    }
    if not dropped:
        return None
    # The resource's Ref (a table's name) tells boto3 which resource the properties belong to.
    return {
        "LogicalId": logical_id,
        "Type": resource_type,
        "Properties": {"PhysicalId": {"Ref": logical_id}, **dropped},
    }


def _name_what_is_not_local(node: Any, not_local: set[str]) -> Any:
    """`{"Ref": Function}` -> `"Function"` for every resource in `not_local`."""
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in not_local:
            return node["Ref"]
        return {key: _name_what_is_not_local(value, not_local) for key, value in node.items()}
    if isinstance(node, list):
        return [_name_what_is_not_local(item, not_local) for item in node]
    return node


def applied_from_outputs(outputs: dict[str, str]) -> list[Applied]:
    """Reads back, resolved by moto, the resources `to_moto_template` put in the outputs."""
    found = []
    for name, value in sorted(outputs.items()):
        if name.startswith(APPLY_OUTPUT_PREFIX):
            data = json.loads(value)
            found.append(Applied(data["LogicalId"], data["Type"], data["Properties"]))
    return found
