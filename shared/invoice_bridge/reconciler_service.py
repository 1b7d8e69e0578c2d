"""Wires the reconciler to its settings, secret, ledger (deals, portal pin, checkpoints) and queue."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from invoice_bridge import clock
from invoice_bridge.aws import dynamodb_client, sqs_client
from invoice_bridge.bitrix24.client import Bitrix24Client
from invoice_bridge.config import reconciler_settings
from invoice_bridge.events import QueueMessage
from invoice_bridge.ledger.checkpoints import CheckpointStore
from invoice_bridge.ledger.deals import Ledger
from invoice_bridge.ledger.portal_pin import PortalPinStore
from invoice_bridge.ledger_sweep import sweep_stuck
from invoice_bridge.portals import configured_portals
from invoice_bridge.queue import InvoiceQueue
from invoice_bridge.reconciler import ReconcileReport, SweptPortal, reconcile
from invoice_bridge.secret import load_secret


def run_reconciler(remaining_seconds: Callable[[], float]) -> ReconcileReport:
    """`remaining_seconds` is the Lambda context's time left; the sweep starts no portal it cannot finish."""
    settings = reconciler_settings()
    secret = load_secret(settings.bridge_secret_id, settings.secret_max_age_seconds)
    dynamodb = dynamodb_client()
    ledger = Ledger(dynamodb, settings.ledger_table_name)
    queue = InvoiceQueue(sqs_client(), settings.queue_url)

    def enqueue(messages: Iterable[QueueMessage]) -> None:
        queue.send_many(messages)

    pins = PortalPinStore(dynamodb, settings.ledger_table_name)
    portals = configured_portals(secret, pins.portal_pin() if secret.single_portal else None)
    # deals stuck IN_PROGRESS or RETRYING, of the configured portals: queued again once per twice the longest
    # retry delay
    sweep_stuck(
        ledger,
        enqueue,
        domains={p.member_id: p.domain for p in portals if p.member_id},
        interval_seconds=2 * settings.retry_backoff_max_seconds,
    )
    return reconcile(
        portals=[
            SweptPortal(p.member_id, p.domain, Bitrix24Client(p.webhook_url, timeout=settings.http_timeout_seconds))
            for p in portals
            if p.member_id  # the single portal sweeps once its first event has pinned it
        ],
        ledger=ledger,
        checkpoint_store=CheckpointStore(dynamodb, settings.ledger_table_name),
        enqueue=enqueue,
        trigger_stage_ids=settings.trigger_stage_ids,
        now=datetime.fromtimestamp(clock.now(), UTC),  # its checkpoint is compared across runs
        first_lookback=timedelta(hours=settings.first_lookback_hours),
        max_requests=settings.max_bitrix24_requests,
        remaining_seconds=remaining_seconds,
        concurrency=settings.reconciler_concurrency,
        # a portal's sweep is a few requests, each bounded by the HTTP timeout
        reserve_seconds=3 * settings.http_timeout_seconds,
    )
