"""Step 3, claim: this attempt's lease on the deal in the ledger before anything is written to 1C, so that two
workers (or two copies of one message) never make two documents. What the claim took over is the first truth
about 1C: a document the ledger knows (its Ref_Key), or an earlier attempt whose outcome is unknown (1C is
then looked up by key). The lease ends recorded (`record`) or released for a retry (`release`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from invoice_bridge import clock
from invoice_bridge.invoice.model import InvoiceDraft
from invoice_bridge.ledger.deals import Ledger
from invoice_bridge.ledger.records import DOCUMENT_STATES, LedgerStatus
from invoice_bridge.onec.document_keys import OnecDocument
from invoice_bridge.pipeline.outcome import Outcome, OutcomeKind, TransientFailure
from invoice_bridge.pipeline.rules import ProcessorRules


@dataclass(frozen=True)
class Lease:
    ledger: Ledger
    key: str
    owner: str
    started: int  # when this attempt began: the time 1C is searched from should its create's answer be lost
    known_ref: str  # the deal's document the ledger knows ("" for none)
    unknown_since: int | None  # when an attempt whose 1C write may have happened unrecorded began
    sweep_after_seconds: int

    def create_outcome_unknown(self) -> None:
        """1C may have stored the document and lost the answer: the next attempt looks it up by key."""
        self.ledger.mark_outcome_unknown(self.key, owner=self.owner, since=self.started)

    def release(self, error: str) -> None:
        self.ledger.release(self.key, owner=self.owner, error=error, sweep_after_seconds=self.sweep_after_seconds)

    def record(self, document: OnecDocument, draft: InvoiceDraft, *, changed_after_posting: bool) -> None:
        self.ledger.mark_created(
            self.key,
            owner=self.owner,
            ref_key=document.ref_key,
            number=document.number,
            total=f"{draft.total:.2f}",
            vat_total=f"{draft.vat_total:.2f}",
            status=LedgerStatus.CHANGED_AFTER_POSTING if changed_after_posting else LedgerStatus.CREATED,
        )


def claim(ledger: Ledger, key: str, draft: InvoiceDraft, rules: ProcessorRules, delivery_id: str) -> Lease | Outcome:
    """The lease, or the outcome when another attempt holds this content or already made its document.
    `delivery_id` (the SQS message id) tells a redelivery of a crashed attempt from another copy."""
    owner = uuid.uuid4().hex
    started = int(clock.now())
    claimed = ledger.claim(
        key,
        owner=owner,
        content_hash=draft.content_hash(),
        lease_seconds=rules.lease_seconds,
        delivery_id=delivery_id,
    )
    if claimed is None:
        current = ledger.get(key)
        if current is not None and current.status in DOCUMENT_STATES:
            return Outcome(OutcomeKind.DUPLICATE, f"1C document {current.onec_number} exists for this content")
        if (
            current is not None
            and current.status is LedgerStatus.IN_PROGRESS
            and current.lease_expires_at >= int(clock.now())  # as `claim` compares it
        ):
            if current.content_hash == draft.content_hash() and current.lease_delivery not in ("", delivery_id):
                # another copy holds a live lease for this very content: its message stays queued until it
                # is done; were that worker dead, its lease expires and the ledger sweep queues the deal
                return Outcome(OutcomeKind.DUPLICATE, "another worker is creating this content")
            raise TransientFailure(
                f"{key} is leased by an attempt that has not finished; retrying after the lease",
                not_before=current.lease_expires_at + 1,  # claimable from the next whole second
            )
        raise TransientFailure(f"{key} changed while it was claimed; retrying")
    taken = claimed.taken_over
    known_ref = taken.onec_ref_key if taken is not None else ""
    unknown_since = taken.outcome_unknown_since() if taken is not None and not known_ref else None
    if unknown_since is not None and taken is not None and not taken.unknown_since:
        # a crashed attempt's outcome stays unknown should this attempt fail before it learns it
        ledger.mark_outcome_unknown(key, owner=owner, since=unknown_since)
    return Lease(ledger, key, owner, started, known_ref, unknown_since, rules.sweep_after_seconds)
