"""`make run`'s second act: the accountant works in the 1C sandbox, the status sync tells the deals.

After the replay the accountant posts deal 1001's invoice and records a partial payment; the status sync runs;
then the rest is paid and it runs again. Deal 1003's invoice is posted and paid in part. The table shows, for
every sample entity with a document, its 1C number, its status read from 1C, and what Bitrix24 was told.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from invoice_bridge.events import EntityType
from invoice_bridge.messages import Language, Money, format_money
from invoice_bridge.onec.client import ODataClient
from invoice_bridge.status_sync.onec_reader import read_states
from invoice_bridge.status_sync.state import Phase, Told
from local.runners.replay import SampleEntity, sample_entities
from local.seed import ONEC_PASSWORD, ONEC_USERNAME, PORTAL_MEMBER_ID
from local.stack import LocalStack

PAID_DEAL = 1001
PARTLY_PAID_DEAL = 1003
PARTIAL = Decimal("100000.00")


@dataclass(frozen=True)
class StatusRow:
    entity: SampleEntity
    number: str
    phase: Phase
    told: Told
    comments: int  # the status sync's timeline comments on the entity
    expected: Phase

    @property
    def as_expected(self) -> bool:
        told_paid = sum((Decimal(amount) for _, amount in self.told.payments), Decimal(0))
        if self.phase is not self.expected:
            return False
        if self.expected is Phase.DRAFT:
            return self.comments == 0 and self.told == Told()
        if self.expected is Phase.POSTED:  # `make run POST=1`: the bridge posted it; told once, nothing paid
            return self.told.posted and told_paid == 0 and self.comments == 1
        told_phase_ok = self.told.posted and told_paid > 0
        return told_phase_ok and self.comments == (2 if self.expected is Phase.PAID else 1)

    def describe(self) -> str:
        if self.told == Told():
            return "nothing yet (a draft awaits the accountant)"
        paid = sum((Decimal(amount) for _, amount in self.told.payments), Decimal(0))
        parts = ["posted"] if self.told.posted else []
        if self.told.payments:
            parts.append(
                f"paid {format_money(Money(paid), Language.RU).replace(chr(0xA0), ' ')} in {len(self.told.payments)} payment(s)"
            )
        return f"{', '.join(parts)}; {self.comments} comment(s)"


def play_accountant(stack: LocalStack) -> None:
    """Posts, pays and runs the status sync as the issue's story goes."""
    accountant = stack.onec.accountant
    paid, partly = _ref(stack, PAID_DEAL), _ref(stack, PARTLY_PAID_DEAL)
    accountant.post(paid)
    accountant.record_receipt(paid, PARTIAL)
    accountant.post(partly)
    accountant.record_receipt(partly, PARTIAL)
    stack.run_status_sync()
    total = Decimal(str(stack.onec.documents(where=lambda row: row["Ref_Key"] == paid)[0]["СуммаДокумента"]))
    accountant.record_receipt(paid, total - PARTIAL)
    stack.run_status_sync()


def _ref(stack: LocalStack, deal_id: int) -> str:
    assert stack.resources is not None  # noqa: S101
    item = stack.dynamodb.get_item(
        TableName=stack.resources.table_name, Key={"pk": {"S": f"{PORTAL_MEMBER_ID}#deal#{deal_id}"}}
    ).get("Item", {})
    return str(item.get("onec_ref_key", {}).get("S", ""))


def status_results(stack: LocalStack, *, posting: bool = False) -> list[StatusRow]:
    assert stack.resources is not None  # noqa: S101
    onec = ODataClient(stack.onec.url, username=ONEC_USERNAME, password=ONEC_PASSWORD, timeout=10)
    rows: list[tuple[SampleEntity, str, str, Told]] = []
    for entity in sample_entities():
        item = stack.dynamodb.get_item(TableName=stack.resources.table_name, Key={"pk": {"S": entity.ledger_key}})
        ref = item.get("Item", {}).get("onec_ref_key", {}).get("S", "")
        if ref:
            number = item["Item"].get("onec_number", {}).get("S", "")
            rows.append((entity, ref, number, Told.load(item["Item"].get("sync_told", {}).get("S", ""))))
    states = read_states(onec, "buyer_invoice", [ref for _, ref, _, _ in rows]).states
    results = []
    for entity, ref, number, told in rows:
        expected = unpaid = Phase.POSTED if posting else Phase.DRAFT
        if entity.member_id == PORTAL_MEMBER_ID and entity.kind == EntityType.DEAL.value:
            expected = {PAID_DEAL: Phase.PAID, PARTLY_PAID_DEAL: Phase.PARTLY_PAID}.get(entity.id, unpaid)
        bitrix = stack.bitrix if entity.member_id == PORTAL_MEMBER_ID else stack.bitrix_b
        timeline = "deal" if entity.kind == EntityType.DEAL.value else "smart_invoice"
        comments = [c for c in bitrix.timeline_comments if (c.entity_type, c.entity_id) == (timeline, entity.id)]
        results.append(StatusRow(entity, number, states[ref.lower()].phase, told, len(comments) - 1, expected))
    return results


def told_to(stack: LocalStack, deal_id: int) -> list[str]:
    """The status sync's comments on one of portal A's deals (after the processor's own)."""
    return [c.comment for c in stack.bitrix.timeline_comments if (c.entity_type, c.entity_id) == ("deal", deal_id)][1:]


def render_status_table(results: list[StatusRow]) -> str:
    header = f"{'portal':<22} {'entity':<12} {'1C number':<12} {'status':<12} {'ok':<3} what Bitrix24 was told"
    lines = [header, "-" * len(header)]
    for row in results:
        mark = "yes" if row.as_expected else "NO"
        entity = f"{row.entity.kind} {row.entity.id}"
        lines.append(
            f"{row.entity.domain:<22} {entity:<12} {row.number:<12} {row.phase.value:<12} {mark:<3} {row.describe()}"
        )
    return "\n".join(lines)
