"""Wires the processor: settings, secret, clients with their caches, one pipeline per portal, and the circuit
breakers' store."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from invoice_bridge.aws import dynamodb_client
from invoice_bridge.bitrix24.client import Bitrix24Client
from invoice_bridge.bitrix24.snapshot import SnapshotCaches
from invoice_bridge.breaker import BreakerSettings, BreakerStore
from invoice_bridge.config import ProcessorSettings, processor_settings
from invoice_bridge.ledger.deals import Ledger
from invoice_bridge.ledger.portal_pin import PortalPin, PortalPinStore
from invoice_bridge.messages import Language
from invoice_bridge.onec.catalogs import CatalogResolver, CatalogRules
from invoice_bridge.onec.client import ODataClient
from invoice_bridge.onec.documents import PROFILES
from invoice_bridge.pipeline.process import InvoicePipeline
from invoice_bridge.pipeline.rules import ProcessorRules
from invoice_bridge.portals import Portal, configured_portals, current_pin
from invoice_bridge.secret import BridgeSecret, OnecConnection, load_secret

BITRIX24_CACHE_TTL_SECONDS = 600  # product codes and "my company" requisites


class PortalPipelines:
    """One pipeline per portal, made on its first message: its own Bitrix24 client (and rate budget) and
    snapshot caches; its own 1C client, catalogs and schema when the portal has its own base, else the shared ones."""

    def __init__(self, settings: ProcessorSettings, secret: BridgeSecret, pin: PortalPin | None) -> None:
        self._settings = settings
        self._portals = {p.member_id: p for p in configured_portals(secret, pin) if p.member_id}
        self._pipelines: dict[str, InvoicePipeline] = {}
        self._onec: dict[OnecConnection, tuple[ODataClient, CatalogResolver]] = {}
        self._ledger = Ledger(dynamodb_client(), settings.ledger_table_name)

    def get(self, member_id: str) -> InvoicePipeline | None:
        pipeline = self._pipelines.get(member_id)
        if pipeline is None and (portal := self._portals.get(member_id)) is not None:
            pipeline = self._pipelines[member_id] = self._pipeline(portal)
        return pipeline

    @property
    def in_use(self) -> list[InvoicePipeline]:
        return list(self._pipelines.values())

    def _pipeline(self, portal: Portal) -> InvoicePipeline:
        settings = self._settings
        onec, catalogs = self._onec_side(portal.onec)
        zone = ZoneInfo(settings.document_timezone)
        return InvoicePipeline(
            bitrix=Bitrix24Client(portal.webhook_url, timeout=settings.http_timeout_seconds),
            onec=onec,
            catalogs=catalogs,
            ledger=self._ledger,
            caches=SnapshotCaches(ttl_seconds=BITRIX24_CACHE_TTL_SECONDS),
            rules=ProcessorRules(
                trigger_stage_ids=settings.trigger_stage_ids,
                organization_inn=portal.onec.organization_inn or settings.onec_organization_inn,
                lease_seconds=settings.lease_seconds,
                writeback_field=settings.writeback_field,
                post_documents=settings.onec_post_documents,
                on_leaving_trigger=settings.on_leaving_trigger,
                sweep_after_seconds=2 * settings.retry_backoff_max_seconds,
                language=Language(settings.message_language),
                onec_web_client_url=settings.onec_web_client_url,
                preflight_stage_ids=settings.preflight_stage_ids,
            ),
            profile=PROFILES[settings.document_kind],
            now=lambda: datetime.now(zone),
        )

    def _onec_side(self, connection: OnecConnection) -> tuple[ODataClient, CatalogResolver]:
        if connection not in self._onec:
            settings = self._settings
            onec = ODataClient(
                connection.odata_url,
                username=connection.username,
                password=connection.password.get_secret_value(),
                timeout=settings.http_timeout_seconds,
            )
            catalogs = CatalogResolver(
                onec,
                ttl_seconds=settings.onec_catalog_cache_seconds,
                rules=CatalogRules(
                    create_counterparties=settings.onec_create_counterparties,
                    create_contracts=settings.onec_create_contracts,
                    item_code_field=settings.onec_item_code_field,
                    max_url_length=settings.onec_max_url_length,
                    language=Language(settings.message_language),
                ),
            )
            self._onec[connection] = (onec, catalogs)
        return self._onec[connection]


@lru_cache(maxsize=2)
def portal_pipelines(settings: ProcessorSettings, secret: BridgeSecret, pin: PortalPin | None) -> PortalPipelines:
    """One set of pipelines per settings, secret version and pin, so a rotated secret takes effect with fresh
    caches."""
    return PortalPipelines(settings, secret, pin)


def current_pipelines() -> PortalPipelines:
    settings = processor_settings()
    secret = load_secret(settings.bridge_secret_id, settings.secret_max_age_seconds)
    pin = current_pin(PortalPinStore(dynamodb_client(), settings.ledger_table_name)) if secret.single_portal else None
    return portal_pipelines(settings, secret, pin)


def breakers(settings: ProcessorSettings) -> BreakerStore:
    return BreakerStore(
        dynamodb_client(),
        settings.ledger_table_name,
        BreakerSettings(
            failure_threshold=settings.breaker_failure_threshold, open_seconds=settings.breaker_open_seconds
        ),
    )
