"""Rules every template follows, checked on the templates themselves (no AWS, no moto).

Reliability rules live here rather than in reviewers' heads: every queue has a DLQ or is one,
every DLQ has an alarm, every stream consumer has an on-failure destination, every table is
on-demand, encrypted and recoverable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.credits.usecases import FOLLOWED_EVENTS
from clientela_local import cfn
from clientela_local.moto_template import applied_from_outputs, to_moto_template

INFRA = Path(__file__).resolve().parents[2] / "infra"
SERVICES = ("customers", "credits", "automation", "exports")
FRAGMENT = cfn.load(INFRA / "fragments" / "service-api.yaml")


def merged(service: str) -> cfn.Template:
    """What `clientela_local.package` hands to `chalice package --merge-template`."""
    return cfn.deep_merge(FRAGMENT, cfn.load(INFRA / f"{service}.yaml"))


def resources_of_type(resource_type: str) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for name in ("platform", *SERVICES):
        for logical_id, resource in cfn.load(INFRA / f"{name}.yaml")["Resources"].items():
            if resource.get("Type") == resource_type:
                found.append((name, logical_id, resource.get("Properties", {})))
    return found


def _dead_letter_targets(template: cfn.Template) -> set[str]:
    """Logical ids of the queues that receive what something else failed to handle."""
    targets: set[str] = set()
    for resource in template["Resources"].values():
        redrive = resource.get("Properties", {}).get("RedrivePolicy", {})
        targets.update(cfn.references(redrive.get("deadLetterTargetArn")))
        for event in resource.get("Properties", {}).get("Events", {}).values():
            destination = event.get("Properties", {}).get("DestinationConfig", {})
            targets.update(cfn.references(destination.get("OnFailure", {})))
    return targets


@pytest.mark.parametrize("service", SERVICES)
def test_every_queue_has_a_dead_letter_queue_or_is_one(service: str) -> None:
    template = merged(service)
    dead_letter = _dead_letter_targets(template)
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::SQS::Queue" or logical_id in dead_letter:
            continue
        assert resource["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 5, logical_id


@pytest.mark.parametrize("service", SERVICES)
def test_every_dead_letter_queue_has_an_alarm_to_the_alarm_topic(service: str) -> None:
    template = merged(service)
    alarmed = {
        ref: resource["Properties"]
        for resource in template["Resources"].values()
        if resource.get("Type") == "AWS::CloudWatch::Alarm"
        for ref in cfn.references(resource["Properties"]["Dimensions"])
    }
    for queue in _dead_letter_targets(template):
        alarm = alarmed[queue]
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
        assert alarm["AlarmActions"] == [{"Fn::ImportValue": "clientela-alarm-topic-arn"}]


@pytest.mark.parametrize("service", SERVICES)
def test_event_sources_report_partial_failures(service: str) -> None:
    for logical_id, resource in merged(service)["Resources"].items():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            properties = event["Properties"]
            assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"], logical_id
            if "Stream" in properties:  # streams block the shard unless failures go elsewhere
                assert properties["DestinationConfig"]["OnFailure"]["Type"] == "SQS"
                assert properties["BisectBatchOnFunctionError"] is True
                assert properties["MaximumRetryAttempts"] == 10


@pytest.mark.parametrize(
    ("stack", "logical_id", "properties"), resources_of_type("AWS::DynamoDB::Table")
)
def test_tables_are_on_demand_encrypted_and_recoverable(
    stack: str, logical_id: str, properties: dict[str, Any]
) -> None:
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["TableName"].startswith(f"clientela-{stack}")
    if properties["TableName"].endswith("-idempotency"):  # Powertools' layout
        assert properties["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
        assert properties["TimeToLiveSpecification"] == {
            "AttributeName": "expiration",
            "Enabled": True,
        }


def test_the_credits_rule_takes_customer_lifecycle_events_from_the_bus() -> None:
    rule = cfn.load(INFRA / "credits.yaml")["Resources"]["CustomerEventsRule"]["Properties"]
    # By name: moto's CloudFormation cannot take a Ref to the bus, and the bus is another stack's.
    assert rule["EventBusName"] == {"Fn::ImportValue": "clientela-event-bus-name"}
    assert rule["EventPattern"] == {
        "source": ["clientela.customers"],
        "detail-type": list(FOLLOWED_EVENTS),
    }


def test_every_import_is_exported_by_the_platform() -> None:
    exported = {
        output["Export"]["Name"]
        for output in cfn.load(INFRA / "platform.yaml")["Outputs"].values()
        if "Export" in output
    }
    imported = {
        value for service in SERVICES for value in _values_of(merged(service), "Fn::ImportValue")
    }
    assert imported <= exported


def _values_of(node: Any, key: str) -> list[Any]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == key] + [
            found for value in node.values() for found in _values_of(value, key)
        ]
    if isinstance(node, list):
        return [found for item in node for found in _values_of(item, key)]
    return []


def test_short_form_tags_load_as_their_long_form() -> None:
    template = cfn.loads(
        """
A: !Ref Table
B: !GetAtt Table.StreamArn
C: !Sub
  - "${Table.Arn}/index/${Name}"
  - {Name: !ImportValue shared-name}
D: !Join ["", [a, !Ref AWS::Region]]
"""
    )
    assert template == {
        "A": {"Ref": "Table"},
        "B": {"Fn::GetAtt": ["Table", "StreamArn"]},
        "C": {
            "Fn::Sub": ["${Table.Arn}/index/${Name}", {"Name": {"Fn::ImportValue": "shared-name"}}]
        },
        "D": {"Fn::Join": ["", ["a", {"Ref": "AWS::Region"}]]},
    }
    assert sorted(cfn.references(template)) == ["Table", "Table", "Table"]


def test_deep_merge_merges_mappings_and_replaces_everything_else() -> None:
    base = {"Resources": {"Role": {"Type": "T", "Properties": {"Policies": [1, 2], "Keep": 1}}}}
    override = {"Resources": {"Role": {"Properties": {"Policies": [3]}}}}
    assert cfn.deep_merge(base, override) == {
        "Resources": {"Role": {"Type": "T", "Properties": {"Policies": [3], "Keep": 1}}}
    }


def test_the_moto_template_keeps_what_moto_creates_and_describes_the_rest() -> None:
    template = to_moto_template(merged("credits"))
    assert set(template["Resources"]) == {
        "CreditsTable",
        "CreditsIdempotencyTable",
        "CustomerEventsQueue",
        "CustomerEventsDlq",
        "CustomerEventsRule",
    }
    assert "Globals" not in template
    applied = {
        name: output["Value"]["Fn::ToJsonString"]["Type"]
        for name, output in template["Outputs"].items()
        if name.startswith("LocalApply")
    }
    assert applied == {
        "LocalApplyCreditsIdempotencyTable": "AWS::DynamoDB::Table",
        "LocalApplyCustomerEventsDlqAlarm": "AWS::CloudWatch::Alarm",
        "LocalApplyCustomerEventsQueuePolicy": "AWS::SQS::QueuePolicy",
    }


def test_a_resource_moto_skips_may_not_depend_on_another_it_skips() -> None:
    template = {
        "Resources": {
            "Key": {"Type": "AWS::SecretsManager::Secret", "Properties": {"Name": "k"}},
            "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"X": {"Ref": "Key"}}},
        }
    }
    with pytest.raises(ValueError, match="Alarm refers to"):
        to_moto_template(template)


def test_a_resource_type_nobody_placed_is_refused_rather_than_dropped() -> None:
    template = {"Resources": {"Flow": {"Type": "AWS::Scheduler::Schedule", "Properties": {}}}}
    with pytest.raises(ValueError, match="no local provisioning for AWS::Scheduler::Schedule"):
        to_moto_template(template)


def test_applied_resources_are_read_back_from_outputs() -> None:
    outputs = {
        "TableName": "t",
        "LocalApplyT": '{"LogicalId": "T", "Type": "AWS::DynamoDB::Table", "Properties": {}}',
    }
    [applied] = applied_from_outputs(outputs)
    assert (applied.logical_id, applied.type, applied.properties) == (
        "T",
        "AWS::DynamoDB::Table",
        {},
    )


GATEWAY_RESPONSES = FRAGMENT["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]


@pytest.mark.parametrize("response_type", sorted(GATEWAY_RESPONSES))
def test_gateway_responses_are_problem_documents(response_type: str) -> None:
    response = GATEWAY_RESPONSES[response_type]
    assert response["ResponseParameters"]["Headers"]["Content-Type"] == (
        "'application/problem+json'"
    )
    # API Gateway substitutes a quoted JSON string for $context.error.messageString.
    template = response["ResponseTemplates"]["application/json"]
    body = json.loads(template.replace("$context.error.messageString", '"message"'))
    assert body["type"].startswith("https://clientela.dev/problems/")
    assert body["title"]
    assert body.get("status") == (int(response["StatusCode"]) if "StatusCode" in response else None)


def test_the_spec_gateway_responses_are_all_customised() -> None:
    assert {
        "UNAUTHORIZED",
        "ACCESS_DENIED",
        "MISSING_AUTHENTICATION_TOKEN",
        "REQUEST_TOO_LARGE",
        "DEFAULT_4XX",
        "DEFAULT_5XX",
    } <= set(GATEWAY_RESPONSES)


def test_the_customers_api_can_read_the_key_its_cursors_are_signed_with() -> None:
    # GET /customers signs its cursors (clientela.cursor) with the platform signing key.
    role = cfn.load(INFRA / "customers.yaml")["Resources"]["ApiHandlerRole"]["Properties"]
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert {
        "Sid": "ReadSigningKey",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": {"Fn::ImportValue": "clientela-signing-key-secret-arn"},
    } in statements
