"""Step 2, decide: what one queued message asks of the bridge, from the deal as Bitrix24 has it now and the
ledger's record of it — a write-back to resend, nothing, a rejection, a withdrawn document, a check ahead of the
trigger (pre-flight) or an invoice. It only reads (the ledger's record); the steps after it write."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from invoice_bridge.bitrix24.records import DealRecord
from invoice_bridge.bitrix24.snapshot import DealSnapshot, SnapshotError
from invoice_bridge.events import EntityType, QueueMessage, WriteBack
from invoice_bridge.invoice.mapping import DealIdentity, Rejection, map_deal
from invoice_bridge.invoice.model import InvoiceDraft
from invoice_bridge.ledger.records import DOCUMENT_STATES, LedgerRecord
from invoice_bridge.messages import Text
from invoice_bridge.observability import logger, metrics
from invoice_bridge.pipeline.outcome import Outcome, OutcomeKind, TransientFailure
from invoice_bridge.pipeline.rules import ProcessorRules

_URL_PATHS = {EntityType.DEAL: "deal/details", EntityType.INVOICE: "type/31/details"}


@dataclass(frozen=True)
class Done:
    """Nothing to do: the outcome says why."""

    outcome: Outcome


@dataclass(frozen=True)
class ResendWriteBack:
    """A Bitrix24 write that failed for a passing reason, queued on its own to be sent again."""

    write: WriteBack


@dataclass(frozen=True)
class Reject:
    """The manager is told what to fix; nothing is written to 1C."""

    previous: LedgerRecord | None
    problems: tuple[Text, ...]


@dataclass(frozen=True)
class Withdraw:
    """The deal left the trigger stage after its document was made."""

    previous: LedgerRecord
    stage: str


@dataclass(frozen=True)
class Preflight:
    """A stage before the trigger: checked as the trigger would check it (`problems` so far), nothing written."""

    draft: InvoiceDraft | None
    problems: tuple[Text, ...]
    seller_inn: str


@dataclass(frozen=True)
class Invoice:
    """A valid deal in a trigger stage whose content has no document yet."""

    draft: InvoiceDraft
    previous: LedgerRecord | None
    seller_inn: str


Decision = Done | ResendWriteBack | Reject | Withdraw | Preflight | Invoice


def decide(
    message: QueueMessage,
    snapshot: DealSnapshot | SnapshotError | None,
    previous_of: Callable[[str], LedgerRecord | None],
    rules: ProcessorRules,
    now: Callable[[], datetime],
) -> Decision:
    """`previous_of`: the ledger's record of a deal (`Ledger.get`), read once the snapshot is usable."""
    if message.write_back is not None:
        return ResendWriteBack(message.write_back)
    kind = message.entity_type.value
    if snapshot is None:
        raise TransientFailure(f"{kind} {message.entity_id} was not read from Bitrix24")
    if isinstance(snapshot, SnapshotError):
        if snapshot.transient:
            raise TransientFailure(str(snapshot))
        if snapshot.problems:  # Bitrix24 answered, in a shape the manager must hear about
            return Reject(previous_of(message.ledger_key), snapshot.problems)
        return Done(Outcome(OutcomeKind.SKIPPED, str(snapshot)))
    previous = previous_of(message.ledger_key)
    has_document = previous is not None and previous.status in DOCUMENT_STATES
    if not is_trigger(rules, snapshot.deal):
        if previous is not None and has_document:
            return Withdraw(previous, snapshot.deal.STAGE_ID)
        if snapshot.deal.STAGE_ID in rules.preflight_stage_ids:
            checked = map_deal(snapshot, identity(message), now().date())
            if isinstance(checked, Rejection):
                return Preflight(None, checked.problems, seller_inn(snapshot))
            return Preflight(checked, (), seller_inn(snapshot))
        return Done(Outcome(OutcomeKind.SKIPPED, f"stage {snapshot.deal.STAGE_ID} is not a trigger stage"))

    mapped = map_deal(snapshot, identity(message), now().date())
    if previous is not None and has_document:
        if isinstance(mapped, Rejection):
            logger.warning(
                "deal changed after its 1C document and is now invalid",
                extra={"reasons": [problem.code for problem in mapped.problems]},
            )
            metrics.add_metric(name="ChangedAfterInvoicing", unit="Count", value=1)
            return Done(
                Outcome(OutcomeKind.DUPLICATE, f"changed after 1C {previous.onec_number}; invalid now, not applied")
            )
        if previous.content_hash == mapped.content_hash():
            return Done(Outcome(OutcomeKind.DUPLICATE, f"1C document {previous.onec_number} exists for this content"))
    if isinstance(mapped, Rejection):
        if mapped.mismatches:
            # the bridge's arithmetic and Bitrix24's own figures disagree: never a silent kopeck
            metrics.add_metric(name="CrossCheckMismatches", unit="Count", value=1)
            logger.warning(
                "rows disagree with the deal's own totals",
                extra={"ledger_key": message.ledger_key, "mismatches": list(mapped.mismatches)},
            )
        return Reject(previous, mapped.problems)
    return Invoice(mapped, previous, seller_inn(snapshot))


def is_trigger(rules: ProcessorRules, deal: DealRecord) -> bool:
    if rules.trigger_stage_ids:
        return deal.STAGE_ID in rules.trigger_stage_ids
    return deal.STAGE_SEMANTIC_ID == "S"


def identity(message: QueueMessage) -> DealIdentity:
    return DealIdentity(
        ledger_key=message.ledger_key,
        external_key=message.external_key,
        url=f"https://{message.domain}/crm/{_URL_PATHS[message.entity_type]}/{message.entity_id}/",
        entity=message.entity_type,
    )


def seller_inn(snapshot: DealSnapshot) -> str:
    """The INN of the "my company" requisite the deal chose; empty for the configured organisation."""
    return snapshot.seller.RQ_INN if snapshot.seller is not None else ""
