"""Scheduled: tells each deal what happened to its document in 1C (posted, paid, cancelled, unposted), once."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from invoice_bridge.observability import logger, metrics, tracer
from invoice_bridge.status_sync_service import run_status_sync


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = run_status_sync(remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000)
    return {**report.__dict__, "within_bounds": report.within_bounds}
