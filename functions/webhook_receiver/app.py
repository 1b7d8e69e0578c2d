"""POST /bitrix24/events: Bitrix24's outgoing webhook lands here and is queued for the processor."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoice_bridge.observability import logger, metrics, tracer
from invoice_bridge.receiver_service import handle_webhook_body

app = APIGatewayHttpResolver()


@app.post("/bitrix24/events")
@tracer.capture_method
def receive_bitrix24_event() -> Response[dict[str, Any]]:
    event = app.current_event
    reply = handle_webhook_body(event.body or "", base64_encoded=bool(event.is_base64_encoded))
    metrics.add_metric(name=f"Webhook{reply.status_code}", unit="Count", value=1)
    return Response(status_code=reply.status_code, content_type=content_types.APPLICATION_JSON, body=reply.body)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
