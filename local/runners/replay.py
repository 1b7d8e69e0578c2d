"""Replaying the sample webhooks in events/ and judging what each sample deal ended as."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import requests

from invoice_bridge.events import EntityType, external_key
from invoice_bridge.ledger.deals import Ledger
from invoice_bridge.ledger.records import LedgerRecord, LedgerStatus
from invoice_bridge.onec.document_keys import marker_of
from local.aws.lambda_runtime import ROOT
from local.seed import (
    DEALS,
    ONEC_BASE,
    PORTAL_B_DEALS,
    PORTAL_B_DOMAIN,
    PORTAL_B_MEMBER_ID,
    PORTAL_DOMAIN,
    PORTAL_MEMBER_ID,
    SMART_INVOICES,
    Deal,
    SmartInvoice,
)
from local.stack import LocalStack

WEBHOOK_EVENTS = ROOT / "events" / "webhooks"


def webhook_bodies(folder: Path = WEBHOOK_EVENTS) -> list[tuple[str, bytes, str]]:
    """(name, body, content type) of every API Gateway sample event, in name order."""
    samples = []
    for path in sorted(folder.glob("*.json")):
        event = json.loads(path.read_text(encoding="utf-8"))
        raw = event.get("body") or ""
        body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
        samples.append((path.stem, body, event.get("headers", {}).get("content-type", "")))
    return samples


def replay(stack: LocalStack) -> list[tuple[str, int]]:
    replies = []
    for name, body, content_type in webhook_bodies():
        response = requests.post(stack.webhook_url, data=body, headers={"Content-Type": content_type}, timeout=10)
        replies.append((name, response.status_code))
    return replies


@dataclass(frozen=True)
class SampleEntity:
    member_id: str  # the portal it belongs to
    domain: str
    kind: str  # deal / invoice
    id: int
    stage_id: str
    opportunity: Decimal
    expected_outcome: str
    expected_reason: str

    @classmethod
    def of(
        cls, entity: Deal | SmartInvoice, member_id: str = PORTAL_MEMBER_ID, domain: str = PORTAL_DOMAIN
    ) -> SampleEntity:
        kind = "deal" if isinstance(entity, Deal) else "invoice"
        return cls(
            member_id,
            domain,
            kind,
            entity.id,
            entity.stage_id,
            entity.opportunity,
            entity.expected_outcome,
            entity.expected_reason,
        )

    @property
    def ledger_key(self) -> str:
        return f"{self.member_id}#{self.kind}#{self.id}"


@dataclass(frozen=True)
class DealResult:
    deal: SampleEntity
    record: LedgerRecord | None
    documents: int  # drafts in 1C carrying the deal's key
    document_total: Decimal | None
    buyer: str = ""  # the 1C counterparty of its one document
    posted: bool = False  # its one document is posted
    posting: bool = False  # the run posts documents (OnecPostDocuments=true), so a created one must be posted

    @property
    def outcome(self) -> str:
        if self.record is None:
            return "skipped"
        return self.record.status.value.lower()

    @property
    def as_expected(self) -> bool:
        expected = self.deal.expected_outcome
        if expected == "created":
            return (
                self.record is not None
                and self.record.status is LedgerStatus.CREATED
                and self.documents == 1
                and self.document_total == self.deal.opportunity
                and (self.posted or not self.posting)
            )
        if expected == "rejected":
            return (
                self.record is not None
                and self.record.status is LedgerStatus.REJECTED
                and any(self.deal.expected_reason in reason for reason in self.record.reasons)
                and self.documents == 0
            )
        return self.record is None and self.documents == 0

    def describe(self) -> str:
        if self.record is None:
            return f"no invoice: stage {self.deal.stage_id} is not a trigger stage"
        if self.record.status is LedgerStatus.CREATED:
            state = (", posted" if self.posted else ", NOT posted") if self.posting else ""
            return (
                f"1C {self.record.onec_number}: {self.buyer}, sum {self.record.total}, VAT {self.record.vat_total}"
                + state
            )
        if self.record.status is LedgerStatus.REJECTED:
            return "; ".join(self.record.reasons)
        return self.record.last_error or self.record.status.value


def sample_entities() -> list[SampleEntity]:
    """Portal A's deals and new invoices, then portal B's deals (their ids overlap A's)."""
    return (
        [SampleEntity.of(deal) for deal in DEALS]
        + [SampleEntity.of(invoice) for invoice in SMART_INVOICES]
        + [SampleEntity.of(deal, PORTAL_B_MEMBER_ID, PORTAL_B_DOMAIN) for deal in PORTAL_B_DEALS]
    )


def deal_results(stack: LocalStack, *, posting: bool = False) -> list[DealResult]:
    assert stack.resources is not None  # noqa: S101
    ledger = Ledger(stack.dynamodb, stack.resources.table_name)
    documents = stack.onec.documents()
    buyers = {counterparty.ref_key: counterparty.description for counterparty in ONEC_BASE.counterparties}
    results = []
    for deal in sample_entities():
        key = external_key(deal.member_id, EntityType(deal.kind), deal.id)
        mine = [doc for doc in documents if marker_of(str(doc.get("Комментарий", ""))) == key]
        total = Decimal(str(mine[0]["СуммаДокумента"])) if len(mine) == 1 else None
        buyer = buyers.get(str(mine[0].get("Контрагент_Key", "")), "?") if len(mine) == 1 else ""
        record = ledger.get(deal.ledger_key)
        posted = len(mine) == 1 and mine[0].get("Posted") is True
        results.append(
            DealResult(
                deal=deal,
                record=record,
                documents=len(mine),
                document_total=total,
                buyer=buyer,
                posted=posted,
                posting=posting,
            )
        )
    return results


def render_table(results: list[DealResult]) -> str:
    header = f"{'portal':<22} {'entity':<12} {'stage':<12} {'outcome':<9} {'ok':<3} {'1C key':<27} detail"
    lines = [header, "-" * len(header)]
    for result in results:
        mark = "yes" if result.as_expected else "NO"
        deal = result.deal
        key = f"b24:{deal.member_id[:8]}…:{deal.kind}:{deal.id}" if result.documents else "-"
        lines.append(
            f"{deal.domain:<22} {deal.kind + ' ' + str(deal.id):<12} {deal.stage_id:<12} "
            f"{result.outcome:<9} {mark:<3} {key:<27} {result.describe()}"
        )
    return "\n".join(lines)
