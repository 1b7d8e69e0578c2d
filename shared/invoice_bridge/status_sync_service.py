"""Wires the status sync to its settings, secret, the portal pin and the portals' Bitrix24 and 1C."""

from __future__ import annotations

from collections.abc import Callable

from invoice_bridge import clock
from invoice_bridge.aws import dynamodb_client
from invoice_bridge.bitrix24.client import Bitrix24Client
from invoice_bridge.config import status_sync_settings
from invoice_bridge.ledger.portal_pin import PortalPinStore
from invoice_bridge.messages import Language
from invoice_bridge.onec.client import ODataClient
from invoice_bridge.portals import configured_portals
from invoice_bridge.secret import OnecConnection, load_secret
from invoice_bridge.status_sync.bitrix_actions import StageRules
from invoice_bridge.status_sync.open_documents import OpenDocuments
from invoice_bridge.status_sync.sweep import SyncedPortal, SyncReport, sweep

DAY_SECONDS = 86400


def run_status_sync(remaining_seconds: Callable[[], float]) -> SyncReport:
    settings = status_sync_settings()
    secret = load_secret(settings.bridge_secret_id, settings.secret_max_age_seconds)
    client = dynamodb_client()
    pins = PortalPinStore(client, settings.ledger_table_name)
    portals = configured_portals(secret, pins.portal_pin() if secret.single_portal else None)
    onec: dict[OnecConnection, ODataClient] = {}  # portals sharing a 1C base share its client

    def onec_client(connection: OnecConnection) -> ODataClient:
        if connection not in onec:
            onec[connection] = ODataClient(
                connection.odata_url,
                username=connection.username,
                password=connection.password.get_secret_value(),
                timeout=settings.http_timeout_seconds,
            )
        return onec[connection]

    return sweep(
        [
            SyncedPortal(
                p.member_id,
                p.domain,
                Bitrix24Client(p.webhook_url, timeout=settings.http_timeout_seconds),
                onec_client(p.onec),
            )
            for p in portals
            if p.member_id  # the single portal is followed once its first event has pinned it
        ],
        OpenDocuments(client, settings.ledger_table_name),
        profile=settings.document_kind,
        rules=StageRules(
            paid_stage_ids=settings.paid_stage_id,
            partly_paid_stage_ids=settings.partly_paid_stage_id,
            move_invoices=settings.move_invoice_to_paid_stage,
            allow_backwards=settings.stage_moves_backwards,
            paid_amount_field=settings.paid_amount_field,
            paid_date_field=settings.paid_date_field,
        ),
        since=int(clock.now()) - settings.status_sync_days * DAY_SECONDS,
        remaining_seconds=remaining_seconds,
        # a portal's sweep is a few requests, each bounded by the HTTP timeout
        reserve_seconds=4 * settings.http_timeout_seconds,
        language=Language(settings.message_language),
    )
