"""Wires the reconciler to its settings, secret, ledger and queue."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from invoice_bridge.aws import dynamodb_client, sqs_client
from invoice_bridge.bitrix24.client import Bitrix24Client
from invoice_bridge.config import reconciler_settings
from invoice_bridge.events import QueueMessage
from invoice_bridge.ledger import Ledger
from invoice_bridge.queue import InvoiceQueue
from invoice_bridge.reconciler import ReconcileReport, reconcile
from invoice_bridge.secret import load_secret


def run_reconciler(remaining_seconds: float) -> ReconcileReport:
    settings = reconciler_settings()
    secret = load_secret(settings.bridge_secret_id, settings.secret_max_age_seconds)
    client = Bitrix24Client(secret.bitrix24_webhook_url, timeout=settings.http_timeout_seconds)
    client.remaining_seconds = lambda: remaining_seconds
    queue = InvoiceQueue(sqs_client(), settings.queue_url)

    def enqueue(messages: Iterable[QueueMessage]) -> None:
        queue.send_many(messages)

    return reconcile(
        client=client,
        ledger=Ledger(dynamodb_client(), settings.ledger_table_name),
        enqueue=enqueue,
        trigger_stage_ids=settings.trigger_stage_ids,
        now=datetime.now(UTC),
        first_lookback=timedelta(hours=settings.first_lookback_hours),
        max_requests=settings.max_bitrix24_requests,
    )
