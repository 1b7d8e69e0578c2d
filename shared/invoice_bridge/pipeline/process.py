"""One queued message through the pipeline's steps, in order: decide (on the deal `read` got for the batch),
claim, write to 1C, tell Bitrix24 — or the branch `decide` chose instead: reject, withdraw, pre-flight. Each step
is a module of its own; this one runs them and maps what 1C answered onto the ledger and the breaker."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NoReturn

from invoice_bridge.bitrix24.client import Bitrix24Client
from invoice_bridge.bitrix24.snapshot import DealSnapshot, SnapshotCaches, SnapshotError, Snapshots
from invoice_bridge.events import QueueMessage
from invoice_bridge.ledger.deals import Ledger
from invoice_bridge.ledger.records import LedgerRecord, LedgerStatus
from invoice_bridge.messages import Msg, Text, t
from invoice_bridge.observability import logger, metrics
from invoice_bridge.onec.catalogs import CatalogResolver, OnecSetupError, ReferenceNotFound
from invoice_bridge.onec.client import ODataClient, ODataError
from invoice_bridge.onec.documents import BuyerInvoiceProfile, DocumentProfile
from invoice_bridge.pipeline.claim import Lease, claim
from invoice_bridge.pipeline.decide import Done, Invoice, Preflight, Reject, ResendWriteBack, Withdraw, decide
from invoice_bridge.pipeline.outcome import Outcome, OutcomeKind, TransientFailure
from invoice_bridge.pipeline.preflight import preflight
from invoice_bridge.pipeline.read import read_deals
from invoice_bridge.pipeline.rules import ProcessorRules
from invoice_bridge.pipeline.tell_bitrix24 import Bitrix24Outbox
from invoice_bridge.pipeline.write_onec import OnecWriter

_METRICS = {
    OutcomeKind.CREATED: "InvoicesCreated",
    OutcomeKind.FOUND: "InvoicesFound",
    OutcomeKind.UPDATED: "InvoicesUpdated",
    OutcomeKind.CHANGED_AFTER_POSTING: "ChangedAfterPosting",
}


@dataclass
class InvoicePipeline:
    """One portal's pipeline (made by `wiring`): its clients and ledger, the 1C writer that keeps the base's schema
    and breaker, and the Bitrix24 outbox that collects the batch's writes until `flush_write_backs`."""

    bitrix: Bitrix24Client
    onec: ODataClient
    catalogs: CatalogResolver
    ledger: Ledger
    caches: SnapshotCaches
    rules: ProcessorRules
    now: Callable[[], datetime]
    profile: DocumentProfile = field(default_factory=BuyerInvoiceProfile)
    to_onec: OnecWriter = field(init=False)
    to_bitrix24: Bitrix24Outbox = field(init=False)

    def __post_init__(self) -> None:
        self.to_onec = OnecWriter(self.onec, self.catalogs, self.profile, self.rules, self.now)
        self.to_bitrix24 = Bitrix24Outbox(self.rules, self.profile)

    def read_snapshots(self, messages: Sequence[QueueMessage]) -> Snapshots:
        return read_deals(self.bitrix, self.caches, messages)

    def process(
        self, message: QueueMessage, snapshot: DealSnapshot | SnapshotError | None, delivery_id: str = ""
    ) -> Outcome:
        """`delivery_id` (the SQS message id) tells a redelivery of a crashed attempt from another copy."""
        match decide(message, snapshot, self.ledger.get, self.rules, self.now):
            case Done(outcome):
                return outcome
            case ResendWriteBack(write):
                self.to_bitrix24.queue(message, write)
                return Outcome(OutcomeKind.WRITE_BACK, f"{write.method}, attempt {write.attempt}")
            case Reject(previous, problems):
                return self._reject(message, previous, problems, owner="")
            case Withdraw(previous, stage):
                return self._withdraw(message, previous, stage)
            case Preflight() as check:
                return preflight(message, check, self.to_onec, self.ledger, self.to_bitrix24)
            case Invoice() as invoice:
                return self._invoice(message, invoice, delivery_id)

    def flush_write_backs(self) -> list[QueueMessage]:
        return self.to_bitrix24.flush(self.bitrix)

    def _invoice(self, message: QueueMessage, invoice: Invoice, delivery_id: str) -> Outcome:
        """Claim, write to 1C, record the document on the lease, tell Bitrix24. What 1C answers decides the rest:
        its set-up holds the deal (released, retried), a missing reference or a refusal rejects it, a passing
        failure releases it for a retry."""
        self.to_onec.admit()
        lease = claim(self.ledger, message.ledger_key, invoice.draft, self.rules, delivery_id)
        if isinstance(lease, Outcome):
            return lease
        draft = invoice.draft
        try:
            document, kind = self.to_onec.write(draft, invoice.seller_inn, lease)
        except OnecSetupError as exc:
            self._setup_failure(message, lease, str(exc))
        except ReferenceNotFound as exc:
            self.to_onec.answered()
            return self._reject(message, invoice.previous, (exc.text,), owner=lease.owner)
        except ODataError as exc:
            if exc.setup:
                self.to_onec.failed()
                self._setup_failure(message, lease, exc.explain())
            if exc.transient:
                lease.release(str(exc))
                self.to_onec.failed()
                raise TransientFailure(str(exc)) from exc
            self.to_onec.answered()
            refused = t(Msg.ONEC_REFUSED, detail=exc.explain())
            return self._reject(message, invoice.previous, (refused,), owner=lease.owner)
        except BaseException as exc:
            lease.release(f"{type(exc).__name__}: {exc}")
            raise
        self.to_onec.answered()
        lease.record(document, draft, changed_after_posting=kind is OutcomeKind.CHANGED_AFTER_POSTING)
        metrics.add_metric(name=_METRICS[kind], unit="Count", value=1)
        logger.info(
            "1C document handled", extra={"ledger_key": lease.key, "onec_number": document.number, "outcome": kind}
        )
        self.to_bitrix24.document(message, kind, document, draft)
        return Outcome(kind, f"1C {document.number}: {draft.total:.2f} incl. VAT {draft.vat_total:.2f}")

    def _setup_failure(self, message: QueueMessage, lease: Lease, problem: str) -> NoReturn:
        """1C's set-up holds the deal: released for its retries, counted for the alarm, and the manager told
        once per deal that nothing is needed from them."""
        lease.release(problem)
        metrics.add_metric(name="SetupFailures", unit="Count", value=1)
        logger.error("1C set-up problem; the deal waits for the administrator", extra={"problem": problem})
        if self.ledger.note_setup_notice(message.ledger_key):
            self.to_bitrix24.setup_wait(message)
        raise TransientFailure(f"1C set-up: {problem}", setup=True)

    def _withdraw(self, message: QueueMessage, previous: LedgerRecord, stage: str) -> Outcome:
        """The deal left the trigger stage: an unposted draft is marked (comment or deletion mark), a posted
        document is left to the accountant; the manager is told once."""
        if not self.ledger.mark_withdrawn(message.ledger_key, stage=stage):
            return Outcome(OutcomeKind.DUPLICATE, "already withdrawn")
        self.to_onec.mark_withdrawn(message, previous, stage)
        metrics.add_metric(name="DealsWithdrawn", unit="Count", value=1)
        self.to_bitrix24.withdrawn(message, previous, stage)
        return Outcome(OutcomeKind.WITHDRAWN, f"1C {previous.onec_number} withdrawn: stage {stage}")

    def _reject(
        self, message: QueueMessage, previous: LedgerRecord | None, problems: tuple[Text, ...], *, owner: str
    ) -> Outcome:
        # the English words identify the reasons whatever the language: a rejection the ledger recorded before
        # the catalog existed (in those words) is not told again
        reasons_hash = hashlib.sha256("\n".join(map(str, problems)).encode()).hexdigest()
        codes = tuple(problem.code for problem in problems)
        recorded = self.ledger.mark_rejected(message.ledger_key, content_hash=reasons_hash, reasons=codes, owner=owner)
        told_before = (
            previous is not None and previous.status is LedgerStatus.REJECTED and previous.content_hash == reasons_hash
        )
        detail = "; ".join(map(str, problems))
        if not recorded or told_before:
            return Outcome(OutcomeKind.REJECTED, detail)
        metrics.add_metric(name="DealsRejected", unit="Count", value=1)
        # the reasons log as their English words (Text.__str__), as the RejectionsByReasonQuery groups them
        logger.info("deal rejected", extra={"ledger_key": message.ledger_key, "reasons": list(problems)})
        self.to_bitrix24.rejected(message, problems)
        return Outcome(OutcomeKind.REJECTED, detail)
