"""Powertools' batch utility (partial batch responses for SQS), as every queue handler imports it.

Powertools' `batch` imports its parser's pydantic models of every event source (SQS, Kinesis,
Kafka, DynamoDB...) when pydantic is loaded, only to name them in type hints: a quarter of a
bare `import boto3` at the cold start of every queue handler, for models no handler uses (ours
take the data class `SQSRecord`). It decides by looking for "pydantic" in `sys.modules`, so it
is imported here with pydantic out of sight for that moment, and nothing else changes: import
`BatchProcessor`, `EventType` and `process_partial_response` from this module, never from
`aws_lambda_powertools.utilities.batch` (root README, "Cold start").
"""

from __future__ import annotations

import sys


def _import_without_pydantic_models() -> None:
    if "aws_lambda_powertools.utilities.batch" in sys.modules:
        return
    hidden = sys.modules.pop("pydantic", None)
    try:
        import aws_lambda_powertools.utilities.batch  # noqa: F401, PLC0415
    finally:
        if hidden is not None:
            # Nothing imported meanwhile may have loaded a second pydantic: the batch utility
            # imports pydantic only for those hints (tests/unit/test_cold_start.py checks).
            second = sys.modules.get("pydantic")
            sys.modules["pydantic"] = hidden
            if second is not None and second is not hidden:
                raise ImportError("the batch utility imported pydantic while it was hidden")


_import_without_pydantic_models()

from aws_lambda_powertools.utilities.batch import (  # noqa: E402
    BatchProcessor,
    EventType,
    process_partial_response,
)

__all__ = ["BatchProcessor", "EventType", "process_partial_response"]
