"""The pipeline's decide step on its own: which branch a message takes, from the deal as read and the ledger's
record of it, before anything is claimed or written (shared/invoice_bridge/pipeline/decide.py)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from invoice_bridge.bitrix24.snapshot import SnapshotError
from invoice_bridge.events import EntityType, QueueMessage, WriteBack
from invoice_bridge.invoice.mapping import map_deal
from invoice_bridge.invoice.model import InvoiceDraft
from invoice_bridge.ledger.records import LedgerRecord, LedgerStatus
from invoice_bridge.messages import Msg, t
from invoice_bridge.pipeline.decide import (
    Done,
    Invoice,
    Preflight,
    Reject,
    ResendWriteBack,
    Withdraw,
    decide,
    identity,
)
from invoice_bridge.pipeline.outcome import OutcomeKind, TransientFailure
from invoice_bridge.pipeline.rules import ProcessorRules
from tests.unit.test_mapping import ON, row, snapshot

RULES = ProcessorRules(
    trigger_stage_ids=("WON",), organization_inn="7707083893", lease_seconds=180, preflight_stage_ids=("PREPARE",)
)
MESSAGE = QueueMessage(member_id="m", domain="p", entity_type=EntityType.DEAL, entity_id=7, event="E", ts=1)


def now() -> datetime:
    return datetime(ON.year, ON.month, ON.day, 12, tzinfo=ZoneInfo("Europe/Moscow"))


def no_record(key: str) -> LedgerRecord | None:
    return None


def record(status: LedgerStatus, content_hash: str = "") -> LedgerRecord:
    return LedgerRecord(
        pk=MESSAGE.ledger_key, status=status, content_hash=content_hash, onec_ref_key="ref", onec_number="БС-1"
    )


def draft() -> InvoiceDraft:
    mapped = map_deal(snapshot(), identity(MESSAGE), ON)
    assert isinstance(mapped, InvoiceDraft)
    return mapped


def test_a_new_valid_deal_in_the_trigger_stage_is_invoiced() -> None:
    decision = decide(MESSAGE, snapshot(), no_record, RULES, now)
    assert isinstance(decision, Invoice)
    assert decision.draft.content_hash() == draft().content_hash()
    assert decision.previous is None


def test_the_same_content_after_its_document_is_a_duplicate_and_changed_content_is_invoiced_again() -> None:
    created = record(LedgerStatus.CREATED, draft().content_hash())
    same = decide(MESSAGE, snapshot(), lambda key: created, RULES, now)
    assert isinstance(same, Done)
    assert same.outcome.kind is OutcomeKind.DUPLICATE
    changed = decide(
        MESSAGE,
        snapshot(rows=(row(QUANTITY=3),), opportunity="366000.00", tax_value="66000.00"),
        lambda key: created,
        RULES,
        now,
    )
    assert isinstance(changed, Invoice)
    assert changed.previous == created


def test_leaving_the_trigger_withdraws_a_document_and_is_skipped_without_one() -> None:
    created = record(LedgerStatus.CREATED)
    withdrawn = decide(MESSAGE, snapshot(STAGE_ID="LOSE", STAGE_SEMANTIC_ID="F"), lambda key: created, RULES, now)
    assert withdrawn == Withdraw(created, "LOSE")
    skipped = decide(MESSAGE, snapshot(STAGE_ID="LOSE", STAGE_SEMANTIC_ID="F"), no_record, RULES, now)
    assert isinstance(skipped, Done)
    assert skipped.outcome.kind is OutcomeKind.SKIPPED


def test_a_preflight_stage_is_checked_not_invoiced() -> None:
    decision = decide(MESSAGE, snapshot(STAGE_ID="PREPARE", STAGE_SEMANTIC_ID="P"), no_record, RULES, now)
    assert isinstance(decision, Preflight)
    assert decision.draft is not None
    assert decision.problems == ()
    invalid = decide(MESSAGE, snapshot(STAGE_ID="PREPARE", STAGE_SEMANTIC_ID="P", buyer=None), no_record, RULES, now)
    assert isinstance(invalid, Preflight)
    assert invalid.draft is None
    assert invalid.problems


def test_an_invalid_deal_is_rejected_with_the_ledger_record_it_had() -> None:
    rejected = record(LedgerStatus.REJECTED)
    decision = decide(MESSAGE, snapshot(buyer=None), lambda key: rejected, RULES, now)
    assert isinstance(decision, Reject)
    assert decision.previous == rejected
    assert decision.problems


def test_what_bitrix24_did_not_answer_is_retried_and_a_write_back_is_resent() -> None:
    with pytest.raises(TransientFailure):
        decide(MESSAGE, None, no_record, RULES, now)
    with pytest.raises(TransientFailure):
        decide(MESSAGE, SnapshotError("503", transient=True), no_record, RULES, now)
    problem = t(Msg.ONEC_REFUSED, detail="x")
    answered = decide(MESSAGE, SnapshotError("shape", transient=False, problems=(problem,)), no_record, RULES, now)
    assert answered == Reject(None, (problem,))
    write = WriteBack(method="crm.deal.update", params={"id": 7})
    resend = decide(MESSAGE.model_copy(update={"write_back": write}), None, no_record, RULES, now)
    assert resend == ResendWriteBack(write)
