"""Scheduled: queues won deals and invoices whose webhook never arrived (Bitrix24 delivers at most once)."""

from __future__ import annotations

import dataclasses
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from invoice_bridge.observability import logger, metrics, tracer
from invoice_bridge.reconciler_service import run_reconciler


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = run_reconciler(remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000)
    return dataclasses.asdict(report)
