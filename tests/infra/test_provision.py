"""Local provisioning creates, in moto, what the templates define, from the templates themselves.

moto's in-process servers share their state, so these tests provision into a region no other
test uses: they neither see nor disturb the stack the service tests run against.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from clientela.auth import LOCAL_DEVELOPMENT_KEY
from clientela_local import cfn
from clientela_local.provision import LOCAL_CURSOR_KEY, provision
from tests.conftest import running_moto

REGION = "eu-west-3"
INFRA = Path(__file__).resolve().parents[2] / "infra"
TABLES = {
    "clientela-customers": ("customers", "CustomersTable"),
    "clientela-customers-idempotency": ("customers", "CustomersIdempotencyTable"),
    "clientela-credits": ("credits", "CreditsTable"),
    "clientela-credits-idempotency": ("credits", "CreditsIdempotencyTable"),
}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with running_moto() as (url, _port):
        provision(url, REGION)
        yield url


def client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )


def table_properties(table: str) -> dict[str, Any]:
    stack, logical_id = TABLES[table]
    properties: dict[str, Any] = cfn.load(INFRA / f"{stack}.yaml")["Resources"][logical_id][
        "Properties"
    ]
    return properties


@pytest.mark.parametrize("table", sorted(TABLES))
def test_tables_match_their_definition(endpoint: str, table: str) -> None:
    dynamodb = client(endpoint, "dynamodb")
    expected = table_properties(table)
    described = dynamodb.describe_table(TableName=table)["Table"]

    assert described["KeySchema"] == expected["KeySchema"]
    assert sorted(described["AttributeDefinitions"], key=str) == sorted(
        expected["AttributeDefinitions"], key=str
    )
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [index["IndexName"] for index in described.get("GlobalSecondaryIndexes", [])] == [
        index["IndexName"] for index in expected.get("GlobalSecondaryIndexes", [])
    ]
    stream = expected.get("StreamSpecification")
    assert described.get("StreamSpecification") == (
        {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]} if stream else None
    )
    ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    if "TimeToLiveSpecification" in expected:
        assert ttl == {
            "TimeToLiveStatus": "ENABLED",
            "AttributeName": expected["TimeToLiveSpecification"]["AttributeName"],
        }
    else:
        assert ttl["TimeToLiveStatus"] == "DISABLED"


def test_the_customers_table_streams_old_and_new_images(endpoint: str) -> None:
    described = client(endpoint, "dynamodb").describe_table(TableName="clientela-customers")
    assert described["Table"]["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert described["Table"]["LatestStreamArn"].startswith(f"arn:aws:dynamodb:{REGION}:")


def test_the_credits_queue_redrives_to_its_dlq_after_five_receives(endpoint: str) -> None:
    sqs = client(endpoint, "sqs")
    url = sqs.get_queue_url(QueueName="clientela-credits-customer-events")["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName="clientela-credits-customer-events-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": 5,
    }


def test_only_the_credits_rules_may_send_to_the_credits_queue(endpoint: str) -> None:
    sqs = client(endpoint, "sqs")
    url = sqs.get_queue_url(QueueName="clientela-credits-customer-events")["QueueUrl"]
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    )
    rule_arns = [
        client(endpoint, "events").describe_rule(Name=name, EventBusName="clientela")["Arn"]
        for name in ("clientela-credits-customer-events", "clientela-credits-order-events")
    ]
    assert [s["Principal"] for s in policy["Statement"]] == [
        {"Service": "events.amazonaws.com"}
    ] * 2
    assert [s["Condition"] for s in policy["Statement"]] == [
        {"ArnEquals": {"aws:SourceArn": arn}} for arn in rule_arns
    ]


def test_the_credits_rule_delivers_customer_events_to_the_queue(endpoint: str) -> None:
    marker = uuid.uuid4().hex
    client(endpoint, "events").put_events(
        Entries=[
            {
                "EventBusName": "clientela",
                "Source": "clientela.customers",
                "DetailType": "customer.created",
                "Detail": json.dumps({"marker": marker}),
            },
            {  # not a customer lifecycle event: the rule must not deliver it
                "EventBusName": "clientela",
                "Source": "clientela.credits",
                "DetailType": "wallet.opened",
                "Detail": json.dumps({"marker": marker}),
            },
        ]
    )
    sqs = client(endpoint, "sqs")
    url = sqs.get_queue_url(QueueName="clientela-credits-customer-events")["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    bodies = [json.loads(message["Body"]) for message in messages]
    assert [(body["source"], body["detail-type"]) for body in bodies] == [
        ("clientela.customers", "customer.created")
    ]
    assert bodies[0]["detail"] == {"marker": marker}


def test_every_dead_letter_queue_alarms_to_the_alarm_topic(endpoint: str) -> None:
    alarms = client(endpoint, "cloudwatch").describe_alarms()["MetricAlarms"]
    topic = client(endpoint, "sns").create_topic(Name="clientela-alarms")["TopicArn"]  # idempotent
    watched = {
        alarm["Dimensions"][0]["Value"]: alarm
        for alarm in alarms
        if alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    }
    assert set(watched) == {
        "clientela-customers-stream-dlq",
        "clientela-credits-stream-dlq",
        "clientela-customers-inbox-dlq",
        "clientela-customers-inbox-delivery-dlq",
        "clientela-customers-jobs-dlq",
        "clientela-credits-customer-events-dlq",
        "clientela-credits-customer-events-delivery-dlq",
        "clientela-credits-offer-events-dlq",
        "clientela-credits-offer-events-delivery-dlq",
        "clientela-customers-extracts-dlq",
        "clientela-customers-extracts-delivery-dlq",
        "clientela-credits-extracts-dlq",
        "clientela-credits-extracts-delivery-dlq",
        "clientela-exports-parts-dlq",
        "clientela-exports-parts-delivery-dlq",
        "clientela-exports-privacy-dlq",
        "clientela-exports-privacy-delivery-dlq",
        "clientela-automation-contact-events-dlq",
        "clientela-automation-contact-events-delivery-dlq",
        "clientela-automation-ses-events-dlq",
        "clientela-automation-inbound-dlq",
        "clientela-exports-imports-dlq",
        "clientela-exports-imports-delivery-dlq",
        "clientela-automation-flow-events-dlq",
        "clientela-automation-flow-events-delivery-dlq",
        "clientela-automation-flow-steps-dlq",
    }
    for alarm in watched.values():
        assert alarm["AlarmActions"] == [topic]
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def test_the_publisher_falling_behind_alarms_to_the_alarm_topic(endpoint: str) -> None:
    # The function does not exist locally: its alarm names it by its logical id.
    [alarm] = client(endpoint, "cloudwatch").describe_alarms(
        AlarmNames=["clientela-customers-publisher-falling-behind"]
    )["MetricAlarms"]
    topic = client(endpoint, "sns").create_topic(Name="clientela-alarms")["TopicArn"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", "IteratorAge")
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": "PublishCustomerChanges"}]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 300000)
    assert alarm["AlarmActions"] == [topic]


def test_the_credits_rule_retries_then_parks_undelivered_events(endpoint: str) -> None:
    sqs = client(endpoint, "sqs")
    url = sqs.get_queue_url(QueueName="clientela-credits-customer-events-delivery-dlq")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    events = client(endpoint, "events")
    rule_arn = events.describe_rule(
        Name="clientela-credits-customer-events", EventBusName="clientela"
    )["Arn"]
    [target] = events.list_targets_by_rule(
        Rule="clientela-credits-customer-events", EventBusName="clientela"
    )["Targets"]
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    assert target["DeadLetterConfig"] == {"Arn": attributes["QueueArn"]}
    assert attributes["SqsManagedSseEnabled"] == "true"
    assert attributes["MessageRetentionPeriod"] == "1209600"
    # The customer rule's statement; the order rule (same queues) has its own.
    statement = json.loads(attributes["Policy"])["Statement"][0]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": rule_arn}}


def test_the_signing_key_is_the_local_development_key(endpoint: str) -> None:
    secret = client(endpoint, "secretsmanager").get_secret_value(
        SecretId="clientela/auth/signing-key"
    )
    assert secret["SecretString"] == LOCAL_DEVELOPMENT_KEY


def test_the_cursor_key_is_the_local_cursor_key(endpoint: str) -> None:
    secret = client(endpoint, "secretsmanager").get_secret_value(
        SecretId="clientela/customers/cursor-key"
    )
    assert secret["SecretString"] == LOCAL_CURSOR_KEY != LOCAL_DEVELOPMENT_KEY


def test_a_secret_without_a_local_value_is_refused() -> None:
    from clientela_local import provision as provisioning

    with pytest.raises(ValueError, match="no local value for the secret clientela/new/secret"):
        provisioning._put_local_secret(None, {"Name": "clientela/new/secret"})  # type: ignore[arg-type]


def test_the_bus_is_archived_for_replay_for_a_week(endpoint: str) -> None:
    events = client(endpoint, "events")
    archives = events.list_archives()["Archives"]
    assert [(a["ArchiveName"], a["EventSourceArn"].rsplit("/", 1)[1]) for a in archives] == [
        ("clientela-events", "clientela")
    ]
    assert events.describe_archive(ArchiveName="clientela-events")["RetentionDays"] == 7


def test_provisioning_again_changes_nothing(endpoint: str) -> None:
    cloudformation = client(endpoint, "cloudformation")
    before = cloudformation.describe_stacks()["Stacks"]
    provision(endpoint, REGION)
    after = cloudformation.describe_stacks()["Stacks"]
    assert [stack["StackId"] for stack in after] == [stack["StackId"] for stack in before]
    assert {stack["StackName"] for stack in after} == {
        "clientela-platform",
        "clientela-customers",
        "clientela-credits",
        "clientela-exports",
        "clientela-automation",
    }


def test_the_photos_bucket_is_private_and_expires_abandoned_uploads(endpoint: str) -> None:
    s3 = client(endpoint, "s3")
    name = f"clientela-customers-photos-123456789012-{REGION}"
    block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    [rule] = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
    assert (rule["Filter"], rule["Expiration"], rule["Status"]) == (
        {"Prefix": "uploads/"},
        {"Days": 1},
        "Enabled",
    )
    encryption = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    [cors] = s3.get_bucket_cors(Bucket=name)["CORSRules"]
    assert cors["AllowedMethods"] == ["POST"]


def test_the_exports_bucket_is_private_and_expires_exports_after_seven_days(endpoint: str) -> None:
    s3 = client(endpoint, "s3")
    name = f"clientela-exports-123456789012-{REGION}"
    block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    rules = {
        rule["ID"]: rule for rule in s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
    }
    rule = rules["expire-exports"]
    assert (rule["Filter"], rule["Expiration"], rule["Status"]) == (
        {"Prefix": "exports/"},
        {"Days": 7},
        "Enabled",
    )
    privacy = rules["expire-privacy-files"]
    assert (privacy["Filter"], privacy["Expiration"]) == ({"Prefix": "privacy/"}, {"Days": 30})
    # The console uploads an import's file and reads its report straight from the bucket.
    [cors] = s3.get_bucket_cors(Bucket=name)["CORSRules"]
    assert (cors["AllowedMethods"], cors["AllowedHeaders"]) == (["PUT", "GET"], ["content-type"])
