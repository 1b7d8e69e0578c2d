"""What the ledger says of a deal: its status and the record of its item.

States: IN_PROGRESS (leased) → CREATED | CHANGED_AFTER_POSTING | REJECTED | RETRYING, and CREATED → WITHDRAWN.
A deal with a document is claimed again only for different content, to update its draft (deals.py).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class LedgerStatus(StrEnum):
    IN_PROGRESS = "IN_PROGRESS"
    CREATED = "CREATED"
    REJECTED = "REJECTED"
    RETRYING = "RETRYING"
    CHANGED_AFTER_POSTING = "CHANGED_AFTER_POSTING"  # the deal changed after the accountant posted the document
    WITHDRAWN = "WITHDRAWN"  # the deal left the trigger stage after its document was made


# The deal has a document in 1C in these states.
DOCUMENT_STATES = frozenset({LedgerStatus.CREATED, LedgerStatus.CHANGED_AFTER_POSTING})


class LedgerRecord(BaseModel):
    # built on first use: no cold start pays for it before a deal's item is read (tests/unit/test_cold_imports.py)
    model_config = ConfigDict(frozen=True, defer_build=True)

    pk: str
    status: LedgerStatus
    content_hash: str = ""
    lease_owner: str = ""
    lease_delivery: str = ""  # the SQS message whose attempt holds the lease
    lease_expires_at: int = 0
    attempts: int = 0
    onec_ref_key: str = ""
    onec_number: str = ""
    total: str = ""
    vat_total: str = ""
    reasons: tuple[str, ...] = ()
    last_error: str = ""
    updated_at: int = 0
    sweep_at: int = 0
    setup_notice_at: int = 0  # when the manager was told that 1C's set-up holds the deal (once per deal)
    created_at: int = 0  # the first claim
    attempt_started_at: int = 0  # the latest claim
    unknown_since: int = 0  # an attempt that began then may have written to 1C without the ledger knowing

    def outcome_unknown_since(self) -> int | None:
        """When the attempt began whose 1C write may have happened unrecorded; None when nothing was written
        that the ledger does not know. A record left IN_PROGRESS (its lease expired: the attempt crashed or was
        killed) counts, as does one released or rejected after its create failed (`unknown_since`)."""
        if self.unknown_since:
            return self.unknown_since
        if self.status is LedgerStatus.IN_PROGRESS:
            return self.attempt_started_at or self.created_at or self.updated_at
        if self.status is LedgerStatus.RETRYING and not self.attempt_started_at:
            return self.created_at or self.updated_at  # released by a release that did not record the outcome
        return None


def record_of(item: dict[str, Any]) -> LedgerRecord:
    """The record of a deal's item as DynamoDB returns it."""
    plain: dict[str, Any] = {}
    for name, value in item.items():
        if "S" in value:
            plain[name] = value["S"]
        elif "N" in value:
            plain[name] = int(value["N"])
        elif "L" in value:
            plain[name] = tuple(entry.get("S", "") for entry in value["L"])
    return LedgerRecord.model_validate(plain)
