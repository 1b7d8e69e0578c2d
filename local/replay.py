"""Replaying the sample webhooks in events/ and judging what each sample deal ended as."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import requests

from invoice_bridge.events import EntityType, external_key
from invoice_bridge.ledger import Ledger, LedgerRecord, LedgerStatus
from invoice_bridge.onec.documents import key_marker
from local.lambda_runtime import ROOT
from local.seed import DEALS, PORTAL_MEMBER_ID, SMART_INVOICES, Deal, SmartInvoice
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
    kind: str  # deal / invoice
    id: int
    stage_id: str
    opportunity: Decimal
    expected_outcome: str
    expected_reason: str

    @classmethod
    def of(cls, entity: Deal | SmartInvoice) -> SampleEntity:
        kind = "deal" if isinstance(entity, Deal) else "invoice"
        return cls(
            kind, entity.id, entity.stage_id, entity.opportunity, entity.expected_outcome, entity.expected_reason
        )


@dataclass(frozen=True)
class DealResult:
    deal: SampleEntity
    record: LedgerRecord | None
    documents: int  # drafts in 1C carrying the deal's key
    document_total: Decimal | None

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
            return f"1C {self.record.onec_number}: sum {self.record.total}, VAT {self.record.vat_total}"
        if self.record.status is LedgerStatus.REJECTED:
            return "; ".join(self.record.reasons)
        return self.record.last_error or self.record.status.value


def deal_results(stack: LocalStack) -> list[DealResult]:
    assert stack.resources is not None  # noqa: S101
    ledger = Ledger(stack.dynamodb, stack.resources.table_name)
    documents = stack.onec.documents()
    results = []
    samples = [SampleEntity.of(deal) for deal in DEALS] + [SampleEntity.of(invoice) for invoice in SMART_INVOICES]
    for deal in samples:
        marker = key_marker(external_key(PORTAL_MEMBER_ID, EntityType(deal.kind), deal.id))
        mine = [doc for doc in documents if marker in str(doc.get("Комментарий", ""))]
        total = Decimal(str(mine[0]["СуммаДокумента"])) if len(mine) == 1 else None
        record = ledger.get(f"{PORTAL_MEMBER_ID}#{deal.kind}#{deal.id}")
        results.append(DealResult(deal=deal, record=record, documents=len(mine), document_total=total))
    return results


def render_table(results: list[DealResult]) -> str:
    header = f"{'entity':<12} {'stage':<12} {'outcome':<9} {'ok':<3} detail"
    lines = [header, "-" * len(header)]
    for result in results:
        mark = "yes" if result.as_expected else "NO"
        lines.append(
            f"{result.deal.kind + ' ' + str(result.deal.id):<12} {result.deal.stage_id:<12} {result.outcome:<9} {mark:<3} "
            f"{result.describe()}"
        )
    return "\n".join(lines)
