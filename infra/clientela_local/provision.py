"""Creating every Clientela resource in a running moto server, from the deployable templates.

The same infra/*.yaml that deploy to AWS are handed to moto's CloudFormation (platform first,
its exports feed the services), minus what moto cannot create (see moto_template.py). What
moto's CloudFormation skips is then applied with boto3 from the properties moto resolved.
Locally every secret gets a fixed, well-known development value instead of a generated one
(`LOCAL_SECRET_VALUES`): the signing key is clientela.auth's development key, so `make token`
and the tests can mint tokens.
edge.yaml is not provisioned: locally the gateway plays CloudFront (clientela_local.routing).
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from clientela.auth import LOCAL_DEVELOPMENT_KEY
from clientela_local import cfn
from clientela_local.moto_template import Applied, applied_from_outputs, to_moto_template

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

INFRA_DIR = Path(__file__).resolve().parent.parent

# Deployment order: the platform stack exports what the service stacks import.
STACKS = ("platform", "customers", "credits", "automation", "exports")

STACK_PREFIX = "clientela-"

# The customers API's cursor key (infra/customers.yaml CursorKeySecret), locally.
LOCAL_CURSOR_KEY = "clientela-local-cursor-key-0001"

# What each secret the templates generate on AWS holds locally, by secret name. A new secret
# needs a line here: provisioning refuses one it has no value for.
LOCAL_SECRET_VALUES = {
    "clientela/auth/signing-key": LOCAL_DEVELOPMENT_KEY,
    "clientela/customers/cursor-key": LOCAL_CURSOR_KEY,
    "clientela/credits/cursor-key": LOCAL_CURSOR_KEY + "-credits",
    "clientela/customers/tombstone-key": "clientela-local-tombstone-key-0001",
    "clientela/automation/link-key": "clientela-local-automation-link-key-0001",
}
_TIMEOUT_SECONDS = 30.0


def provision(
    endpoint_url: str, region: str = "us-east-1", stacks: tuple[str, ...] = STACKS
) -> None:
    """Creates every stack (or those named: a benchmark of one service needs the platform and
    that service only), and what moto's CloudFormation skips, unless it already exists."""
    clients = _Clients(endpoint_url, region)
    for name in stacks:
        template = to_moto_template(cfn.load(INFRA_DIR / f"{name}.yaml"))
        if not template["Resources"]:
            continue  # CloudFormation refuses an empty stack; nothing to create
        outputs = _ensure_stack(clients.cloudformation, STACK_PREFIX + name, template)
        for applied in applied_from_outputs(outputs):
            _apply(clients, applied)


class _Clients:
    def __init__(self, endpoint_url: str, region: str) -> None:
        # Dummy credentials on purpose: provisioning must never reach a real account.
        session = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto accepts any key
            region_name=region,
        )
        config = Config(retries={"total_max_attempts": 1})
        self.cloudformation = session.client(
            "cloudformation", endpoint_url=endpoint_url, config=config
        )
        self.dynamodb = session.client("dynamodb", endpoint_url=endpoint_url, config=config)
        self.secretsmanager = session.client(
            "secretsmanager", endpoint_url=endpoint_url, config=config
        )
        self.sqs = session.client("sqs", endpoint_url=endpoint_url, config=config)
        self.s3 = session.client("s3", endpoint_url=endpoint_url, config=config)
        self.stepfunctions = session.client(
            "stepfunctions", endpoint_url=endpoint_url, config=config
        )
        self.ses = session.client("ses", endpoint_url=endpoint_url, config=config)
        # No boto3 stubs for CloudWatch are installed, hence Any.
        self.cloudwatch: Any = session.client(
            "cloudwatch", endpoint_url=endpoint_url, config=config
        )


def _ensure_stack(
    client: CloudFormationClient, name: str, template: cfn.Template
) -> dict[str, str]:
    try:
        client.describe_stacks(StackName=name)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ValidationError":  # "does not exist"
            raise
        client.create_stack(StackName=name, TemplateBody=json.dumps(template))
    return _wait_for_stack(client, name)


def _wait_for_stack(client: CloudFormationClient, name: str) -> dict[str, str]:
    # moto finishes within the create call; the loop (not boto3's 30 s-period waiter) only
    # covers a stack another process is still creating.
    deadline = time.monotonic() + _TIMEOUT_SECONDS
    while True:
        stack = client.describe_stacks(StackName=name)["Stacks"][0]
        status = stack["StackStatus"]
        if status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            return {out["OutputKey"]: out["OutputValue"] for out in stack.get("Outputs", [])}
        if not status.endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            reason = stack.get("StackStatusReason", "")
            raise RuntimeError(f"stack {name} is {status}: {reason}")
        time.sleep(0.05)


def _apply(clients: _Clients, applied: Applied) -> None:
    properties = applied.properties
    if applied.type == "AWS::SecretsManager::Secret":
        _put_local_secret(clients, properties)
    elif applied.type == "AWS::SQS::QueuePolicy":
        policy = json.dumps(properties["PolicyDocument"])
        for queue_url in properties["Queues"]:
            clients.sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": policy})
    elif applied.type == "AWS::CloudWatch::Alarm":
        # The alarm's CloudFormation properties are put_metric_alarm's parameters.
        clients.cloudwatch.put_metric_alarm(**properties)
    elif applied.type == "AWS::DynamoDB::Table":
        _enable_time_to_live(clients, properties["PhysicalId"], properties)
    elif applied.type == "AWS::S3::BucketPolicy":
        _put_bucket_policy(clients, properties)
    elif applied.type == "AWS::S3::Bucket":
        _configure_bucket(clients, properties["PhysicalId"], properties)
    elif applied.type == "AWS::StepFunctions::StateMachine":
        _create_state_machine(clients, properties)
    elif applied.type == "AWS::SES::EmailIdentity":
        _verify_identity(clients, properties["EmailIdentity"])
    else:
        raise ValueError(f"no local applier for {applied.type} ({applied.logical_id})")


def _create_state_machine(clients: _Clients, properties: dict[str, Any]) -> None:
    """Through the Step Functions API: moto keeps the machines it executes apart from those its
    CloudFormation makes (the local stack switches execution on before provisioning)."""
    with contextlib.suppress(clients.stepfunctions.exceptions.StateMachineAlreadyExists):
        clients.stepfunctions.create_state_machine(
            name=properties["StateMachineName"],
            definition=properties["DefinitionString"],
            roleArn=properties["RoleArn"],
            type=properties.get("StateMachineType", "STANDARD"),
        )


def _put_local_secret(clients: _Clients, properties: dict[str, Any]) -> None:
    # The template generates the value on AWS; locally it is the known development value.
    name = properties["Name"]
    value = LOCAL_SECRET_VALUES.get(name)
    if value is None:
        raise ValueError(
            f"no local value for the secret {name}; add one to LOCAL_SECRET_VALUES in "
            "clientela_local/provision.py"
        )
    try:
        clients.secretsmanager.create_secret(
            Name=name, Description=properties.get("Description", ""), SecretString=value
        )
    except clients.secretsmanager.exceptions.ResourceExistsException:
        clients.secretsmanager.put_secret_value(SecretId=name, SecretString=value)


def _enable_time_to_live(clients: _Clients, table: str, properties: dict[str, Any]) -> None:
    specification = properties["TimeToLiveSpecification"]
    current = clients.dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    wanted = "ENABLED" if specification["Enabled"] else "DISABLED"
    if current.get("TimeToLiveStatus") == wanted:
        return  # AWS rejects a TTL update that changes nothing
    clients.dynamodb.update_time_to_live(
        TableName=table,
        TimeToLiveSpecification={
            "AttributeName": specification["AttributeName"],
            "Enabled": specification["Enabled"],
        },
    )


def _put_bucket_policy(clients: _Clients, properties: dict[str, Any]) -> None:
    """The policy without its TLS-only statements: locally every request is plain HTTP, and
    moto applies a bucket's Deny statements without reading their conditions (it would deny
    everything)."""
    document = properties["PolicyDocument"]
    statements = [
        statement
        for statement in document["Statement"]
        if "aws:SecureTransport" not in json.dumps(statement.get("Condition", {}))
    ]
    if statements:
        policy = json.dumps({**document, "Statement": statements})
        clients.s3.put_bucket_policy(Bucket=properties["Bucket"], Policy=policy)


def _configure_bucket(clients: _Clients, bucket: str, properties: dict[str, Any]) -> None:
    """A bucket's settings moto's CloudFormation drops, from their CloudFormation form."""
    s3 = clients.s3
    if "PublicAccessBlockConfiguration" in properties:
        block = properties["PublicAccessBlockConfiguration"]
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=block)
    if "OwnershipControls" in properties:
        s3.put_bucket_ownership_controls(
            Bucket=bucket, OwnershipControls=properties["OwnershipControls"]
        )
    if "LifecycleConfiguration" in properties:
        rules = [_lifecycle_rule(rule) for rule in properties["LifecycleConfiguration"]["Rules"]]
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={"Rules": rules},  # type: ignore[typeddict-item]
        )
    if "CorsConfiguration" in properties:
        rules = [_cors_rule(rule) for rule in properties["CorsConfiguration"]["CorsRules"]]
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})  # type: ignore[typeddict-item]
    if "NotificationConfiguration" in properties:
        queues = properties["NotificationConfiguration"].get("QueueConfigurations", [])
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {"QueueArn": queue["Queue"], "Events": [queue["Event"]]} for queue in queues
                ]
            },
        )


def _verify_identity(clients: _Clients, identity: str) -> None:
    """The sender identity, verified at once (moto needs no DNS): mail from it can go out."""
    if "@" in identity:
        clients.ses.verify_email_identity(EmailAddress=identity)
    else:
        clients.ses.verify_domain_identity(Domain=identity)


_LIFECYCLE_NAMES = {"Id", "Status", "Prefix", "ExpirationInDays", "AbortIncompleteMultipartUpload"}
_CORS_NAMES = {
    "Id": "ID",
    "AllowedMethods": "AllowedMethods",
    "AllowedOrigins": "AllowedOrigins",
    "AllowedHeaders": "AllowedHeaders",
    "ExposedHeaders": "ExposeHeaders",
    "MaxAge": "MaxAgeSeconds",
}


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation lifecycle rule in the S3 API's form (the properties our templates use)."""
    unknown = set(rule) - _LIFECYCLE_NAMES
    if unknown:
        raise ValueError(f"no local form for the lifecycle properties {sorted(unknown)}")
    converted: dict[str, Any] = {
        "ID": rule["Id"],
        "Status": rule["Status"],
        "Filter": {"Prefix": rule.get("Prefix", "")},
    }
    if "ExpirationInDays" in rule:
        converted["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "AbortIncompleteMultipartUpload" in rule:
        days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        converted["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    return converted


def _cors_rule(rule: dict[str, Any]) -> dict[str, Any]:
    unknown = set(rule) - set(_CORS_NAMES)
    if unknown:
        raise ValueError(f"no local form for the CORS properties {sorted(unknown)}")
    converted = {_CORS_NAMES[name]: value for name, value in rule.items()}
    if "MaxAgeSeconds" in converted:
        converted["MaxAgeSeconds"] = int(converted["MaxAgeSeconds"])
    return converted
