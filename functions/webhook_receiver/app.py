"""POST /bitrix24/events: Bitrix24's outgoing webhook lands here and is queued for the processor.

API Gateway routes only this route here (template.yaml), so the handler answers the HTTP API event itself, with no
router and no X-Ray SDK: Lambda's active tracing still records each invocation, and the cold start stays small
(the event-handler package and the X-Ray SDK were ~60 % of it).
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoice_bridge.observability import logger, metrics
from invoice_bridge.receiver_service import handle_webhook_body


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    reply = handle_webhook_body(event.get("body") or "", base64_encoded=bool(event.get("isBase64Encoded")))
    metrics.add_metric(name=f"Webhook{reply.status_code}", unit="Count", value=1)
    return {
        "statusCode": reply.status_code,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(reply.body, separators=(",", ":"), ensure_ascii=False),
    }
