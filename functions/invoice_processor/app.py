"""SQS → invoice drafts in 1C. Failed messages are reported one by one (ReportBatchItemFailures)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoice_bridge.observability import logger, metrics, tracer
from invoice_bridge.processor_service import process_sqs_batch


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_sqs_batch(event, context)
