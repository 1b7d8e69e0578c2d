"""Wires the receiver's logic to its settings, secret and queue."""

from __future__ import annotations

from collections.abc import Iterable

from invoice_bridge.aws import sqs_client
from invoice_bridge.config import receiver_settings
from invoice_bridge.queue import InvoiceQueue
from invoice_bridge.receiver import ReceiverReply, receive_webhook
from invoice_bridge.secret import load_secret


def _known_tokens() -> Iterable[str]:
    settings = receiver_settings()
    secret = load_secret(settings.bridge_secret_id, settings.secret_max_age_seconds)
    return [token.get_secret_value() for token in secret.bitrix24_application_tokens]


def handle_webhook_body(body: bytes) -> ReceiverReply:
    settings = receiver_settings()
    queue = InvoiceQueue(sqs_client(), settings.queue_url)
    return receive_webhook(
        body, known_tokens=_known_tokens, enqueue=queue.send, max_body_bytes=settings.max_webhook_body_bytes
    )
