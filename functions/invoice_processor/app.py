"""SQS → invoice drafts in 1C. Failed messages are reported one by one (ReportBatchItemFailures).

A direct invocation with {"invoice_bridge_probe": "onec"} (`invoice-bridge-doctor --stack`) only checks that 1C
answers from the processor's network and returns the findings.

No X-Ray SDK here (`observability.tracer` is not imported): it was ~0.35 s of every cold start, more than the rest
of the handler's imports; Lambda's active tracing still records each invocation and its duration.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoice_bridge.network_probe import is_probe, probe_onec
from invoice_bridge.observability import logger, metrics
from invoice_bridge.pipeline.sqs_batch import process_sqs_batch


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse | dict[str, Any]:
    if is_probe(event):
        return probe_onec()
    return process_sqs_batch(event, context)
