"""Rules every template follows, checked on the templates themselves (no AWS, no moto).

Reliability rules live here rather than in reviewers' heads: every queue has a DLQ or is one,
every DLQ has an alarm, every rule target retries and keeps what it cannot deliver, every stream
consumer retries until it succeeds and is watched for falling behind, every table is on-demand,
encrypted and recoverable, every role holds only what its function calls.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.credits.wallets.usecases import FOLLOWED_EVENTS
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
        for target in resource.get("Properties", {}).get("Targets", []):
            targets.update(cfn.references(target.get("DeadLetterConfig", {})))
    return targets


def _alarms(template: cfn.Template) -> list[dict[str, Any]]:
    return [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource.get("Type") == "AWS::CloudWatch::Alarm"
    ]


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
        ref: alarm for alarm in _alarms(template) for ref in cfn.references(alarm["Dimensions"])
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
            if "Stream" in properties:
                # Retried until it succeeds: order kept, nothing skipped. Bisecting isolates a
                # record that makes the function raise. A record still failing near the end of
                # the stream's 24-hour retention is given up while it can still be read, leaving
                # a pointer in an on-failure queue (with no age limit it would vanish unseen).
                assert properties["MaximumRetryAttempts"] == -1, logical_id
                assert properties["BisectBatchOnFunctionError"] is True
                assert 3600 <= properties["MaximumRecordAgeInSeconds"] < 24 * 3600, logical_id
                assert properties["DestinationConfig"]["OnFailure"]["Type"] == "SQS"


@pytest.mark.parametrize("service", SERVICES)
def test_a_stream_consumer_falling_behind_alarms_to_the_alarm_topic(service: str) -> None:
    # A stream mapping that retries without limit holds its shard back while a batch fails:
    # the function's iterator age is what shows it.
    template = merged(service)
    watched = {
        alarm["Dimensions"][0]["Value"]["Ref"]: alarm
        for alarm in _alarms(template)
        if (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", "IteratorAge")
    }
    for logical_id, resource in template["Resources"].items():
        events = resource.get("Properties", {}).get("Events", {}).values()
        if not any("Stream" in event["Properties"] for event in events):
            continue
        alarm = watched[logical_id]
        assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": logical_id}}]
        assert alarm["Statistic"] == "Maximum"
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == (
            "GreaterThanThreshold",
            5 * 60 * 1000,  # milliseconds
        )
        assert alarm["AlarmActions"] == [{"Fn::ImportValue": "clientela-alarm-topic-arn"}]


@pytest.mark.parametrize("service", SERVICES)
def test_rule_targets_retry_for_a_day_then_keep_what_they_could_not_deliver(service: str) -> None:
    template = merged(service)
    resources = template["Resources"]
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Events::Rule":
            continue
        for target in resource["Properties"].get("Targets", []):
            assert target["RetryPolicy"] == {
                "MaximumRetryAttempts": 185,
                "MaximumEventAgeInSeconds": 86400,
            }, logical_id
            [dlq] = cfn.references(target["DeadLetterConfig"]["Arn"])
            assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": [dlq, "Arn"]}
            queue = resources[dlq]["Properties"]
            assert queue["SqsManagedSseEnabled"] is True
            assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
            # EventBridge may park events there only with a policy naming this rule (one
            # statement per rule when rules share a queue).
            rule_arn = {"Fn::GetAtt": [logical_id, "Arn"]}
            [statement] = [
                statement
                for statement in _queue_policy_statements(template, dlq)
                if statement["Condition"]["ArnEquals"]["aws:SourceArn"] == rule_arn
            ]
            assert {k: v for k, v in statement.items() if k != "Sid"} == {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": {"Fn::GetAtt": [dlq, "Arn"]},
                "Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [logical_id, "Arn"]}}},
            }


def _queue_policy_statements(template: cfn.Template, queue: str) -> list[dict[str, Any]]:
    return [
        statement
        for resource in template["Resources"].values()
        if resource.get("Type") == "AWS::SQS::QueuePolicy"
        and resource["Properties"]["Queues"] == [{"Ref": queue}]
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]


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
        "CustomerEventsDeliveryDlq",
        "CustomerEventsRule",
        "OrderEventsRule",
        "OfferEventsQueue",
        "OfferEventsDlq",
        "OfferEventsDeliveryDlq",
        "OfferEventsRule",
        "CreditsStreamDlq",
        "PrivacyRequestsRule",
        "ExtractsQueue",
        "ExtractsDlq",
        "ExtractsDeliveryDlq",
        "ExtractsRule",
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
        "LocalApplyCustomerEventsDeliveryDlqAlarm": "AWS::CloudWatch::Alarm",
        "LocalApplyCustomerEventsDeliveryDlqPolicy": "AWS::SQS::QueuePolicy",
        "LocalApplyOfferEventsDlqAlarm": "AWS::CloudWatch::Alarm",
        "LocalApplyOfferEventsQueuePolicy": "AWS::SQS::QueuePolicy",
        "LocalApplyOfferEventsDeliveryDlqAlarm": "AWS::CloudWatch::Alarm",
        "LocalApplyOfferEventsDeliveryDlqPolicy": "AWS::SQS::QueuePolicy",
        "LocalApplyCursorKeySecret": "AWS::SecretsManager::Secret",
        "LocalApplyCreditsStreamDlqAlarm": "AWS::CloudWatch::Alarm",
        "LocalApplyPublishCreditChangesIteratorAgeAlarm": "AWS::CloudWatch::Alarm",
        "LocalApplyExtractsDlqAlarm": "AWS::CloudWatch::Alarm",
        "LocalApplyExtractsQueuePolicy": "AWS::SQS::QueuePolicy",
        "LocalApplyExtractsDeliveryDlqAlarm": "AWS::CloudWatch::Alarm",
        "LocalApplyExtractsDeliveryDlqPolicy": "AWS::SQS::QueuePolicy",
    }


def test_an_alarm_on_a_function_names_it_by_its_logical_id_locally() -> None:
    # The function is not created locally; its alarm still is, naming the logical id.
    template = to_moto_template(merged("customers"))
    alarm = template["Outputs"]["LocalApplyPublishCustomerChangesIteratorAgeAlarm"]
    properties = alarm["Value"]["Fn::ToJsonString"]["Properties"]
    assert properties["Dimensions"] == [{"Name": "FunctionName", "Value": "PublishCustomerChanges"}]


def test_only_a_ref_to_what_is_not_local_becomes_its_logical_id() -> None:
    template = {
        "Resources": {
            "Handler": {"Properties": {"Events": {}}},  # completes what Chalice generates
            "Alarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {"X": {"Fn::GetAtt": ["Handler", "Arn"]}},
            },
        }
    }
    with pytest.raises(ValueError, match="Alarm refers to"):
        to_moto_template(template)


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


def _statements(stack: str, role: str) -> list[dict[str, Any]]:
    properties = cfn.load(INFRA / f"{stack}.yaml")["Resources"][role]["Properties"]
    return [
        statement
        for policy in properties["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def _grants(stack: str, role: str) -> dict[str, set[str]]:
    """What a role may do, by resource (as JSON, intrinsics included): a policy's meaning."""
    grants: dict[str, set[str]] = {}
    for statement in _statements(stack, role):
        assert statement["Effect"] == "Allow"
        actions = statement["Action"]
        resources = statement["Resource"]
        for resource in resources if isinstance(resources, list) else [resources]:
            key = json.dumps(resource, sort_keys=True)
            grants.setdefault(key, set()).update(
                actions if isinstance(actions, list) else [actions]
            )
    return grants


def _arn(logical_id: str, attribute: str = "Arn") -> str:
    return json.dumps({"Fn::GetAtt": [logical_id, attribute]})


SIGNING_KEY = json.dumps({"Fn::ImportValue": "clientela-signing-key-secret-arn"})
BUS = json.dumps({"Fn::ImportValue": "clientela-event-bus-arn"})
POWERTOOLS_IDEMPOTENCY = {
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
}


def test_the_customers_api_reads_its_cursor_key_and_not_the_signing_key() -> None:
    # GET /customers signs its cursors (clientela.cursor) with a key of the service's own.
    statements = _statements("customers", "ApiHandlerRole")
    assert {
        "Sid": "ReadCursorKey",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": {"Ref": "CursorKeySecret"},
    } in statements
    assert SIGNING_KEY not in _grants("customers", "ApiHandlerRole")
    assert all(s["Sid"] != "ReadSigningKey" for s in statements)


def test_the_cursor_key_is_generated_by_aws_and_named_for_the_api() -> None:
    template = cfn.load(INFRA / "customers.yaml")
    secret = template["Resources"]["CursorKeySecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Properties"]["Name"] == "clientela/customers/cursor-key"
    assert secret["Properties"]["GenerateSecretString"] == {
        "PasswordLength": 64,
        "ExcludePunctuation": True,
    }
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["CUSTOMERS_CURSOR_KEY_SECRET"] == {"Ref": "CursorKeySecret"}


def test_only_the_authorizers_read_the_signing_key() -> None:
    for stack in SERVICES:
        for role in cfn.load(INFRA / f"{stack}.yaml")["Resources"]:
            if role.endswith("Role") and role != "TokenAuthorizerRole":
                assert SIGNING_KEY not in _grants(stack, role), (stack, role)


PRIVACY_PARTS = (
    "arn:${AWS::Partition}:s3:::clientela-exports-${AWS::AccountId}-${AWS::Region}/privacy/*"
)


def test_the_customers_roles_hold_only_what_their_functions_call() -> None:
    # chalicelib.customers: the stores read and write the one table (TransactWriteItems is
    # authorised per action inside it); the indexes are only ever queried.
    table = {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:ConditionCheckItem",
    }
    indexes = json.dumps({"Fn::Sub": "${CustomersTable.Arn}/index/*"})
    jobs = {"sqs:GetQueueUrl", "sqs:SendMessage"}
    # chalicelib.customers.photos.store: uploads and photos only, never the whole bucket.
    uploads = json.dumps({"Fn::Sub": "${PhotosBucket.Arn}/uploads/*"})
    photos = json.dumps({"Fn::Sub": "${PhotosBucket.Arn}/photos/*"})
    objects = {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
    assert _grants("customers", "ApiHandlerRole") == {
        _arn("CustomersTable"): table,
        indexes: {"dynamodb:Query"},
        _arn("CustomersIdempotencyTable"): POWERTOOLS_IDEMPOTENCY,
        json.dumps({"Ref": "CursorKeySecret"}): {"secretsmanager:GetSecretValue"},
        json.dumps({"Ref": "TombstoneKeySecret"}): {"secretsmanager:GetSecretValue"},
        _arn("JobsQueue"): jobs,
        uploads: objects,
        photos: objects,
        _arn("PhotosBucket"): {"s3:ListBucket"},
    }
    consume = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
    assert _grants("customers", "OnInboundEventRole") == {
        _arn("CustomersTable"): table,
        indexes: {"dynamodb:Query"},
        _arn("InboxQueue"): consume,
        json.dumps({"Ref": "TombstoneKeySecret"}): {"secretsmanager:GetSecretValue"},
        # Privacy requests (chalicelib.customers.privacy): parts under privacy/ of the exports
        # bucket only, answers on the bus, the erased customer's photo.
        json.dumps({"Fn::Sub": PRIVACY_PARTS}): {"s3:PutObject"},
        json.dumps({"Fn::ImportValue": "clientela-event-bus-arn"}): {"events:PutEvents"},
        photos: {"s3:DeleteObject"},
    }
    assert _grants("customers", "RunBulkJobRole") == {
        _arn("CustomersTable"): table,
        indexes: {"dynamodb:Query"},
        _arn("JobsQueue"): consume | jobs,
        photos: {"s3:DeleteObject"},  # a bulk delete removes the deleted customers' photos
    }
    stream = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}
    publisher = _grants("customers", "PublishCustomerChangesRole")
    assert not any(
        "dynamodb:" in action and "Item" in action for a in publisher.values() for action in a
    )
    assert publisher[_arn("CustomersTable", "StreamArn")] == stream
    history = _grants("customers", "RecordCustomerHistoryRole")
    assert history[_arn("CustomersTable", "StreamArn")] == stream
    # Timeline entries: written behind a check that the customer exists, or deleted; and a
    # store's shard count, raised when its counters say it grew (read, then updated).
    assert history[_arn("CustomersTable")] == {
        "dynamodb:ConditionCheckItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:BatchWriteItem",
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:UpdateItem",
    }


def test_the_credits_roles_hold_only_what_their_functions_call() -> None:
    # The API posts to the ledger (transactions of Put / Update / ConditionCheck over one
    # customer's items), reads it, and lists wallets through the by-store and wallets-by-*
    # indexes (the totals and referrers' balances with BatchGetItem); it keeps
    # coupons and referrals (transactions are authorised per action inside them) and lists
    # them through their indexes; it reads its own cursor key. The event handler opens (Put),
    # closes (Update) and reads wallets, once per event id through Powertools idempotency.
    # Only the stream publisher puts events on the bus: nothing publishes after a write.
    ledger = {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
        "dynamodb:ConditionCheckItem",
    }
    table = ledger - {"dynamodb:ConditionCheckItem"}
    listings = ("by-store", "wallets-by-balance", "wallets-by-bonus", "wallets-by-cashback")
    assert _grants("credits", "ApiHandlerRole") == {
        _arn("CreditsTable"): ledger | {"dynamodb:BatchGetItem"},
        **{
            f'{{"Fn::Sub": "${{CreditsTable.Arn}}/index/{name}"}}': {"dynamodb:Query"}
            for name in (*listings, "wallets-by-expiry")
        },
        '{"Fn::Sub": "${CreditsTable.Arn}/index/coupons-by-customer"}': {"dynamodb:Query"},
        '{"Fn::Sub": "${CreditsTable.Arn}/index/referrals-by-referrer"}': {"dynamodb:Query"},
        '{"Fn::Sub": "${CreditsTable.Arn}/index/referrals-by-status"}': {"dynamodb:Query"},
        '{"Ref": "CursorKeySecret"}': {"secretsmanager:GetSecretValue"},
    }
    assert _grants("credits", "ExpireCreditsRole") == {
        _arn("CreditsTable"): table,
        '{"Fn::Sub": "${CreditsTable.Arn}/index/due"}': {"dynamodb:Query"},
    }
    assert _grants("credits", "PublishCreditChangesRole") == {
        '{"Fn::GetAtt": ["CreditsTable", "StreamArn"]}': {
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
        },
        '"*"': {"dynamodb:ListStreams"},
        _arn("CreditsStreamDlq"): {"sqs:SendMessage"},
        BUS: {"events:PutEvents"},
    }
    # The rewards job reads the due referrals and marks them, then grants both rewards through
    # the ledger's grant (reads, a transaction of Put / Update, settling a split debit in
    # flight).
    assert _grants("credits", "RewardDueReferralsRole") == {
        _arn("CreditsTable"): table,
        '{"Fn::Sub": "${CreditsTable.Arn}/index/referrals-due"}': {"dynamodb:Query"},
    }
    # The cashback job reads its own partitions of the `due` index and grants through the ledger.
    assert _grants("credits", "GrantDueCashbackRole") == {
        _arn("CreditsTable"): table,
        '{"Fn::Sub": "${CreditsTable.Arn}/index/due"}': {"dynamodb:Query"},
    }
    consumer = _grants("credits", "OnCustomerEventRole")
    assert consumer[_arn("CreditsTable")] == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
    }
    assert consumer[_arn("CreditsIdempotencyTable")] == POWERTOOLS_IDEMPOTENCY
    assert set(consumer) == {
        _arn("CreditsTable"),
        _arn("CreditsIdempotencyTable"),
        _arn("CustomerEventsQueue"),
    }
    # Coupons and referrals follow customer and order events.
    assert _grants("credits", "OnOfferEventRole") == {
        _arn("CreditsTable"): {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:Query",
            "dynamodb:DeleteItem",
        },
        _arn("OfferEventsQueue"): {
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
        },
        # Privacy requests (chalicelib.credits.privacy).
        json.dumps({"Fn::Sub": "${CreditsTable.Arn}/index/coupons-by-customer"}): {
            "dynamodb:Query"
        },
        json.dumps({"Fn::Sub": "${CreditsTable.Arn}/index/referrals-by-referrer"}): {
            "dynamodb:Query"
        },
        json.dumps({"Fn::Sub": PRIVACY_PARTS}): {"s3:PutObject"},
    }


def test_the_credits_offer_rule_takes_what_coupons_and_referrals_follow() -> None:
    from chalicelib.credits.inbox import FOLLOWED_EVENTS as OFFER_EVENTS

    rule = cfn.load(INFRA / "credits.yaml")["Resources"]["OfferEventsRule"]["Properties"]
    assert rule["EventPattern"]["source"] == ["clientela.storefront", "clientela.customers"]
    assert sorted(rule["EventPattern"]["detail-type"]) == sorted(OFFER_EVENTS)


def test_the_flows_rule_takes_the_events_a_flow_can_name() -> None:
    from chalicelib.automation.flows.rules import FLOW_EVENTS
    from clientela_events.registry import CONTRACTS

    rule = cfn.load(INFRA / "automation.yaml")["Resources"]["FlowEventsRule"]["Properties"]
    assert sorted(rule["EventPattern"]["detail-type"]) == sorted(FLOW_EVENTS)
    sources = {c.event_type: c.source for c in CONTRACTS}
    assert {sources[event] for event in FLOW_EVENTS} == set(rule["EventPattern"]["source"])


def test_the_customers_inbox_rules_take_every_event_the_inbox_follows() -> None:
    # Every rule into the inbox queue counts: InboxRule matches by source (a followed type such as
    # flow.tags_requested needs only its source), import chunks and privacy requests have their own.
    from chalicelib.customers.imports import handlers as imports
    from chalicelib.customers.inbox import HANDLERS
    from chalicelib.customers.orders import handlers as orders
    from chalicelib.customers.privacy import handlers as privacy
    from chalicelib.customers.profiles import handlers as profiles
    from chalicelib.customers.timeline import handlers as timeline
    from clientela_events.registry import CONTRACTS

    assert orders and profiles and timeline and imports and privacy  # they register handlers
    resources = cfn.load(INFRA / "customers.yaml")["Resources"]
    patterns = [
        resource["Properties"]["EventPattern"]
        for resource in resources.values()
        if resource.get("Type") == "AWS::Events::Rule"
        and any("InboxQueue" in json.dumps(target) for target in resource["Properties"]["Targets"])
    ]
    assert "detail-type" not in resources["InboxRule"]["Properties"]["EventPattern"]
    sources = {c.event_type: c.source for c in CONTRACTS}
    assert {"flow.tags_requested", "import.rows.submitted", "privacy.requested"} <= set(HANDLERS)
    for event in HANDLERS:
        assert any(
            sources[event] in pattern["source"] and event in pattern.get("detail-type", [event])
            for pattern in patterns
        ), event


def test_the_bus_archive_keeps_personal_data_for_a_week_only() -> None:
    # An erasure request must not be undone by replaying an old customer event.
    archive = cfn.load(INFRA / "platform.yaml")["Resources"]["EventBusArchive"]["Properties"]
    assert archive["RetentionDays"] == 7


BUCKETS = resources_of_type("AWS::S3::Bucket")


@pytest.mark.parametrize(("stack", "logical_id", "properties"), BUCKETS)
def test_buckets_are_private_and_encrypted(
    stack: str, logical_id: str, properties: dict[str, Any]
) -> None:
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
    }
    [rule] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")


def test_the_photos_bucket_takes_only_tls_and_expires_abandoned_uploads() -> None:
    resources = cfn.load(INFRA / "customers.yaml")["Resources"]
    bucket = resources["PhotosBucket"]
    assert bucket["DeletionPolicy"] == "Retain"
    properties = bucket["Properties"]
    # Bucket names are global: the account and region make the stack deployable anywhere.
    assert properties["BucketName"] == {
        "Fn::Sub": "clientela-customers-photos-${AWS::AccountId}-${AWS::Region}"
    }
    [rule] = properties["LifecycleConfiguration"]["Rules"]
    assert (rule["Status"], rule["Prefix"], rule["ExpirationInDays"]) == ("Enabled", "uploads/", 1)
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    policy = next(
        r["Properties"]
        for r in resources.values()
        if r.get("Type") == "AWS::S3::BucketPolicy"
        and r["Properties"]["Bucket"] == {"Ref": "PhotosBucket"}
    )
    assert {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [
            {"Fn::GetAtt": ["PhotosBucket", "Arn"]},
            {"Fn::Sub": "${PhotosBucket.Arn}/*"},
        ],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    } in policy["PolicyDocument"]["Statement"]
    variables = cfn.load(INFRA / "customers.yaml")["Globals"]["Function"]["Environment"]
    assert variables["Variables"]["CUSTOMERS_PHOTOS_BUCKET"] == {"Ref": "PhotosBucket"}
