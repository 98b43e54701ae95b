"""Event source mappings take their settings from the merge templates, and `wait_idle` does not
mistake a system that keeps failing for a quiet one."""

from __future__ import annotations

import json

import boto3
import pytest
from chalice.app import Chalice

from clientela_local.apps import REPO_ROOT
from clientela_local.polling import MappingSettings, mapping_settings
from tests.local.conftest import loaded_app, running

INFRA = REPO_ROOT / "infra"


def test_the_customers_stream_mapping_comes_from_its_template():
    assert mapping_settings(
        INFRA / "customers.yaml", "publish_customer_changes"
    ) == MappingSettings(
        report_batch_item_failures=True,
        maximum_retry_attempts=-1,
        maximum_record_age_seconds=82800,
        on_failure_queue_name="clientela-customers-stream-dlq",
    )


def test_omitted_retry_and_age_limits_mean_none_as_on_aws(tmp_path):
    (tmp_path / "svc.yaml").write_text(
        json.dumps(
            {
                "Resources": {
                    "Handle": {
                        "Properties": {
                            "Events": {
                                "Stream": {
                                    "Properties": {
                                        "FunctionResponseTypes": ["ReportBatchItemFailures"]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        )
    )
    settings = mapping_settings(tmp_path / "svc.yaml", "handle")
    assert (settings.maximum_retry_attempts, settings.maximum_record_age_seconds) == (-1, -1)


def test_the_credits_queue_mapping_reports_batch_item_failures():
    settings = mapping_settings(INFRA / "credits.yaml", "on_customer_event")
    assert settings.report_batch_item_failures


def test_without_a_template_the_defaults_apply(tmp_path):
    assert mapping_settings(tmp_path / "missing.yaml", "anything") == MappingSettings()


def test_wait_idle_times_out_while_a_message_keeps_failing(aws, tmp_path):
    url = boto3.client("sqs").create_queue(
        QueueName="poison", Attributes={"VisibilityTimeout": "0"}
    )["QueueUrl"]
    app = Chalice("poison")

    @app.on_sqs_message(queue="poison", batch_size=1)
    def handle(event):
        raise RuntimeError("always")

    boto3.client("sqs").send_message(QueueUrl=url, MessageBody="x")
    with (
        running(loaded_app(app, handle), infra_dir=tmp_path) as pollers,
        pytest.raises(TimeoutError, match=r"svc\.handle"),
    ):
        pollers.wait_idle(0.5)


def test_an_app_with_a_schedule_gets_pollers_for_its_queues_only(aws, tmp_path):
    # The clock fires @app.schedule handlers; the pollers must pass them by, not trip on them.
    from chalice.app import Rate

    from clientela_local.pollers import Pollers

    boto3.client("sqs").create_queue(QueueName="work")
    app = Chalice("scheduled")

    @app.on_sqs_message(queue="work", batch_size=1)
    def handle(event):
        return None

    @app.schedule(Rate(1, unit=Rate.HOURS))
    def tick(event):
        return None

    pollers = Pollers(
        [loaded_app(app, handle, tick)], region="us-east-1", account="1", infra_dir=tmp_path
    )

    assert len(pollers.pollers) == 1
