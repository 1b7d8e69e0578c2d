"""Wires the receiver's logic to its settings, secret, queue and (for the first release's form) the pin."""

from __future__ import annotations

from aws_lambda_powertools.utilities import parameters

from invoice_bridge.aws import dynamodb_client, sqs_client
from invoice_bridge.config import receiver_settings
from invoice_bridge.ledger.portal_pin import PortalPinStore
from invoice_bridge.portals import Portal, configured_portals, current_pin, pin_portal
from invoice_bridge.queue import InvoiceQueue
from invoice_bridge.receiver import ReceiverReply, receive_event_body
from invoice_bridge.secret import SecretConfigurationError, load_secret
from invoice_bridge.setup_state import setup_unfinished


def _pins() -> PortalPinStore:
    return PortalPinStore(dynamodb_client(), receiver_settings().ledger_table_name)


def _portals() -> tuple[Portal, ...]:
    settings = receiver_settings()
    secret = load_secret(settings.bridge_secret_id, settings.secret_max_age_seconds)
    # Only the first release's form has a pin to read; a warm function keeps it once it exists.
    return configured_portals(secret, current_pin(_pins()) if secret.single_portal else None)


def _pin(portal: Portal, member_id: str, domain: str) -> Portal:
    return pin_portal(_pins(), portal, member_id, domain)


def handle_webhook_body(body: str, *, base64_encoded: bool) -> ReceiverReply:
    settings = receiver_settings()
    queue = InvoiceQueue(sqs_client(), settings.queue_url)
    try:
        return receive_event_body(
            body,
            base64_encoded=base64_encoded,
            portals=_portals,
            pin=_pin,
            enqueue=queue.send,
            max_body_bytes=settings.max_webhook_body_bytes,
        )
    except (SecretConfigurationError, parameters.exceptions.GetParameterError) as exc:
        # Between the deploy and the filled-in secret: a 503 that says so, never a bare 500 (RUNBOOK.md,
        # SetupFailureAlarm). Nothing is queued; the reconciler finds the deals won meanwhile.
        return setup_unfinished(exc)
